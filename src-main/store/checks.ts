// Argument checks at the store's boundary: a bad value is the caller's bug (StoreMisuseError),
// reported before any write, with the value's name in the message.

import Database from 'better-sqlite3';
import { StoreConstraintError, StoreCorruptError, StoreIoError, StoreMisuseError } from './errors';

const SID = /^[0-9a-f]{64}$/;

export function checkSid(sid: string, what = 'sid'): void {
  if (!SID.test(sid)) throw new StoreMisuseError(`${what} must be 64 lowercase hex characters`);
}

export function checkSeq(seq: number, what = 'seq'): void {
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new StoreMisuseError(`${what} must be a positive integer, got ${seq}`);
  }
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
    throw new StoreMisuseError(`limit must be an integer in 1..10000, got ${limit}`);
  }
}

/**
 * Maps SQLite's error codes to the store's faults: constraint violations are the caller's bug,
 * corruption and I/O are storage faults. Anything else (our own SQL bugs, typed store errors) is
 * returned unchanged: the caller rethrows it, nothing is swallowed.
 */
export function translateSqliteError(error: unknown, path: string): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const code = error.code;
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new StoreConstraintError(`${error.message} (${code})`, { cause: error });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new StoreCorruptError(path, error.message, { cause: error });
  }
  if (
    ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN'].some(
      (prefix) => code.startsWith(prefix),
    ) ||
    ['SQLITE_FULL', 'SQLITE_PERM', 'SQLITE_NOLFS', 'SQLITE_PROTOCOL'].includes(code)
  ) {
    return new StoreIoError(`Storage failed: ${error.message} (${code})`, { cause: error });
  }
  return error;
}
