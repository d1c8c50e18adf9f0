// Opening a profile database: refuse what is not ours to open (not SQLite, damaged, newer schema)
// with a typed error before changing anything, then configure the connection, migrate, and unlock
// the storage key. A damaged file can be moved aside so the app starts fresh instead of failing
// the same way at every start.

import Database from 'better-sqlite3';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { translateSqliteError } from './checks';
import { StoreCorruptError, StoreTooNewError } from './errors';
import { storedProtectorKind, unlockStorageKey } from './keyring';
import { APPLICATION_ID, migrate, SCHEMA_VERSION, userVersion } from './migrations';
import type { KeyProtector } from './protectors';
import { sodiumReady } from './sealed';
import { Store } from './store';

export interface OpenStoreOptions {
  /** The profile's database file; created (mode 0600) with its folder if missing. */
  readonly path: string;
  readonly protector: KeyProtector;
  /** Clock for stored timestamps, ms since the Unix epoch. Default Date.now. */
  readonly now?: () => number;
  /** Relay events kept per room in the debug log. Default 1000. */
  readonly eventLogLimit?: number;
  /** How long a write waits for another connection's lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { path, protector } = options;
  const now = options.now ?? Date.now;
  await sodiumReady();
  createIfMissing(path);
  const db = connect(path, options.busyTimeoutMs ?? 5000);
  try {
    if (db.pragma('quick_check(1)', { simple: true }) !== 'ok') {
      throw new StoreCorruptError(path, 'integrity check failed');
    }
    configure(db);
    migrate(db);
    const key = await unlockStorageKey(db, protector, now());
    return new Store(db, key, { path, now, eventLogLimit: options.eventLogLimit ?? 1000 });
  } catch (error) {
    db.close();
    throw translateSqliteError(error, path);
  }
}

export type StoreProbe =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly schemaVersion: number;
      readonly protectorKind: string | null;
    };

/**
 * What the app needs before asking for a passphrase: does the profile exist, which protector
 * holds its key. Throws StoreCorruptError / StoreTooNewError like openStore; changes nothing.
 */
export function probeStore(path: string): StoreProbe {
  if (!existsSync(path) || statSync(path).size === 0) return { exists: false };
  const db = connect(path, 5000);
  try {
    const schemaVersion = userVersion(db);
    const protectorKind = schemaVersion >= 1 ? storedProtectorKind(db) : null;
    return { exists: true, schemaVersion, protectorKind };
  } catch (error) {
    throw translateSqliteError(error, path);
  } finally {
    db.close();
  }
}

/**
 * Renames the database and its -wal/-shm/-journal companions to `<path>.corrupt-<time>...`, so
 * the next openStore starts a fresh profile. Companions go first: a stale WAL beside a new database
 * file would be replayed into it. Returns the new path of the database file.
 */
export function moveAsideCorrupt(path: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  let target = `${path}.corrupt-${stamp}`;
  for (let n = 1; [target, ...COMPANION_SUFFIXES.map((s) => target + s)].some(existsSync); n++) {
    target = `${path}.corrupt-${stamp}-${n}`;
  }
  for (const suffix of [...COMPANION_SUFFIXES, '']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

function createIfMissing(path: string): void {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // SQLite gives the -wal and -shm files the database file's permissions.
  closeSync(openSync(path, 'wx', 0o600));
}

/** Opens the file and reads its schema version, refusing non-SQLite and newer files. */
function connect(path: string, busyTimeoutMs: number): Database.Database {
  checkMagic(path);
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: busyTimeoutMs });
  } catch (error) {
    throw translateSqliteError(error, path);
  }
  try {
    const version = userVersion(db);
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    if (applicationId !== 0 && applicationId !== APPLICATION_ID) {
      throw new StoreCorruptError(path, `not a Conclave database: application_id ${applicationId}`);
    }
    if (version > SCHEMA_VERSION) throw new StoreTooNewError(path, version, SCHEMA_VERSION);
    return db;
  } catch (error) {
    db.close();
    throw translateSqliteError(error, path);
  }
}

function checkMagic(path: string): void {
  const header = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(path, 'r');
  let read: number;
  try {
    read = readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (read > 0 && !header.subarray(0, read).equals(SQLITE_MAGIC.subarray(0, read))) {
    throw new StoreCorruptError(path, 'not a SQLite database');
  }
  if (read > 0 && read < SQLITE_MAGIC.length) {
    throw new StoreCorruptError(path, 'truncated header');
  }
}

function configure(db: Database.Database): void {
  // WAL: readers never block the writer, and a commit is one append. synchronous=NORMAL in WAL
  // mode loses no committed transaction when the process dies; on power loss the last commits may
  // roll back, always whole (cursor included), and the relay then replays those events.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new Error(`could not switch the database to WAL (got ${String(mode)})`);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Freed pages are zeroed, so dead session secrets do not linger in the file.
  db.pragma('secure_delete = ON');
}
