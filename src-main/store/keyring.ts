// keyring: the storage key, wrapped by a KeyProtector, plus a constant sealed under the key so a
// key that unwraps but is wrong (another profile's, a changed OS key store) is caught on open
// instead of surfacing later as undecryptable rows.

import type Database from 'better-sqlite3';
import { ProtectorMismatchError, WrongKeyError } from './errors';
import type { KeyProtector } from './protectors';
import { Sealer, sodiumReady, type SealedSlot } from './sealed';

interface KeyringRow {
  protector_kind: string;
  wrapped_key: Uint8Array;
  key_check: Uint8Array;
}

const CHECK_SLOT: SealedSlot = { table: 'keyring', column: 'key_check', row: [1] };
const CHECK_TEXT = 'conclave storage key check v1';

export function storedProtectorKind(db: Database.Database): string | null {
  const row = db.prepare('SELECT protector_kind FROM keyring WHERE id = 1').get() as
    { protector_kind: string } | undefined;
  return row?.protector_kind ?? null;
}

/**
 * Returns the storage key: unwrapped from the keyring, or created and wrapped on first open.
 * The key is the caller's to zero.
 */
export async function unlockStorageKey(
  db: Database.Database,
  protector: KeyProtector,
  now: number,
): Promise<Uint8Array> {
  const sodium = await sodiumReady();
  const row = db
    .prepare('SELECT protector_kind, wrapped_key, key_check FROM keyring WHERE id = 1')
    .get() as KeyringRow | undefined;

  if (!row) {
    const key = sodium.randombytes_buf(32);
    try {
      const wrapped = await protector.wrap(key);
      const check = withSealer(key, (sealer) => sealer.sealText(CHECK_SLOT, CHECK_TEXT));
      db.prepare(
        `INSERT INTO keyring (id, protector_kind, wrapped_key, key_check, created_at, updated_at)
         VALUES (1, ?, ?, ?, ?, ?)`,
      ).run(protector.kind, wrapped, check, now, now);
      return key;
    } catch (error) {
      sodium.memzero(key);
      throw error;
    }
  }

  if (row.protector_kind !== protector.kind) {
    throw new ProtectorMismatchError(row.protector_kind, protector.kind);
  }
  const key = await protector.unwrap(row.wrapped_key);
  try {
    withSealer(key, (sealer) => sealer.openText(CHECK_SLOT, row.key_check));
  } catch (cause) {
    sodium.memzero(key);
    throw new WrongKeyError('The unwrapped storage key does not belong to this database.', {
      cause,
    });
  }
  return key;
}

/** Runs fn with a sealer over a copy of the key, zeroed afterwards. */
function withSealer<T>(key: Uint8Array, fn: (sealer: Sealer) => T): T {
  const sealer = new Sealer(new Uint8Array(key));
  try {
    return fn(sealer);
  } finally {
    sealer.destroy();
  }
}

/** Replaces the wrapped key (same storage key, another protector or new KDF parameters). */
export function saveWrappedKey(
  db: Database.Database,
  protectorKind: string,
  wrapped: Uint8Array,
  now: number,
): void {
  db.prepare(
    'UPDATE keyring SET protector_kind = ?, wrapped_key = ?, updated_at = ? WHERE id = 1',
  ).run(protectorKind, wrapped, now);
}
