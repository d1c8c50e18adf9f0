// identity: the profile's one long-term Ed25519 key pair. The secret key is sealed and bound to
// its public key, so neither column can be swapped on its own.

import type Database from 'better-sqlite3';
import { StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type { IdentityRecord } from './types';

interface IdentityRow {
  public_key: Uint8Array;
  secret_key_sealed: Uint8Array;
  created_at: number;
}

const secretSlot = (publicKey: Uint8Array): SealedSlot => ({
  table: 'identity',
  column: 'secret_key_sealed',
  row: [1, Buffer.from(publicKey).toString('hex')],
});

export class IdentityTable {
  readonly #sealer: Sealer;
  readonly #insert: Database.Statement<[Uint8Array, Uint8Array, number]>;
  readonly #get: Database.Statement<[], IdentityRow>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#insert = db.prepare(
      'INSERT INTO identity (id, public_key, secret_key_sealed, created_at) VALUES (1, ?, ?, ?)',
    );
    this.#get = db.prepare('SELECT public_key, secret_key_sealed, created_at FROM identity');
  }

  create(publicKey: Uint8Array, secretKey: Uint8Array, at: number): IdentityRecord {
    if (publicKey.length !== 32) throw new StoreMisuseError('identity public key must be 32 bytes');
    if (this.#get.get()) throw new StoreMisuseError('This profile already has an identity.');
    this.#insert.run(publicKey, this.#sealer.seal(secretSlot(publicKey), secretKey), at);
    return { publicKey: new Uint8Array(publicKey), createdAt: at };
  }

  get(): IdentityRecord | null {
    const row = this.#get.get();
    return row ? { publicKey: new Uint8Array(row.public_key), createdAt: row.created_at } : null;
  }

  /** The long-term secret key, decrypted; null before createIdentity. The caller zeroes it. */
  secretKey(): Uint8Array | null {
    const row = this.#get.get();
    return row ? this.#sealer.open(secretSlot(row.public_key), row.secret_key_sealed) : null;
  }
}
