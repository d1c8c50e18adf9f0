// known_keys: trust on first use per room. The first long-term key seen for a nick is remembered;
// a different key later is held as pending (the UI warns) until the user accepts it or verifies
// it. Public keys and fingerprints are not secret and stay in clear.

import type Database from 'better-sqlite3';
import { KnownKeyMismatchError, StoreMisuseError } from './errors';
import type { KeySighting, KeySightingOutcome, KnownKeyRecord, RoomId } from './types';

interface KnownKeyRow {
  nick: string;
  public_key: Uint8Array;
  fingerprint: string;
  first_seen_seq: number;
  verified: number;
  pending_public_key: Uint8Array | null;
  pending_fingerprint: string | null;
  pending_seen_seq: number | null;
}

function toRecord(roomId: RoomId, row: KnownKeyRow): KnownKeyRecord {
  return {
    roomId,
    nick: row.nick,
    publicKey: new Uint8Array(row.public_key),
    fingerprint: row.fingerprint,
    firstSeenSeq: row.first_seen_seq,
    verified: row.verified === 1,
    pending:
      row.pending_public_key === null
        ? null
        : {
            publicKey: new Uint8Array(row.pending_public_key),
            fingerprint: row.pending_fingerprint ?? '',
            seenSeq: row.pending_seen_seq ?? 0,
          },
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b);

export class KnownKeyTable {
  readonly #list: Database.Statement<[number], KnownKeyRow>;
  readonly #get: Database.Statement<[number, string], KnownKeyRow>;
  readonly #insert: Database.Statement<[number, string, Uint8Array, string, number]>;
  readonly #setPending: Database.Statement<[Uint8Array, string, number, number, string]>;
  readonly #setVerified: Database.Statement<[number, string]>;
  readonly #promotePending: Database.Statement<[number, number, string]>;

  constructor(db: Database.Database) {
    const columns = `nick, public_key, fingerprint, first_seen_seq, verified,
      pending_public_key, pending_fingerprint, pending_seen_seq`;
    this.#list = db.prepare(`SELECT ${columns} FROM known_keys WHERE room_id = ? ORDER BY nick`);
    this.#get = db.prepare(`SELECT ${columns} FROM known_keys WHERE room_id = ? AND nick = ?`);
    this.#insert = db.prepare(
      `INSERT INTO known_keys (room_id, nick, public_key, fingerprint, first_seen_seq)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.#setPending = db.prepare(
      `UPDATE known_keys SET pending_public_key = ?, pending_fingerprint = ?, pending_seen_seq = ?
       WHERE room_id = ? AND nick = ?`,
    );
    this.#setVerified = db.prepare(
      'UPDATE known_keys SET verified = 1 WHERE room_id = ? AND nick = ?',
    );
    this.#promotePending = db.prepare(
      `UPDATE known_keys SET public_key = pending_public_key, fingerprint = pending_fingerprint,
         first_seen_seq = pending_seen_seq, verified = ?,
         pending_public_key = NULL, pending_fingerprint = NULL, pending_seen_seq = NULL
       WHERE room_id = ? AND nick = ?`,
    );
  }

  list(roomId: RoomId): KnownKeyRecord[] {
    return this.#list.all(roomId).map((row) => toRecord(roomId, row));
  }

  get(roomId: RoomId, nick: string): KnownKeyRecord | null {
    const row = this.#get.get(roomId, nick);
    return row ? toRecord(roomId, row) : null;
  }

  sight(roomId: RoomId, seq: number, sighting: KeySighting): KeySightingOutcome {
    const { nick, publicKey, fingerprint } = sighting;
    const row = this.#get.get(roomId, nick);
    if (!row) {
      this.#insert.run(roomId, nick, publicKey, fingerprint, seq);
      return 'new';
    }
    if (sameBytes(row.public_key, publicKey)) return 'known';
    if (row.pending_public_key && sameBytes(row.pending_public_key, publicKey)) {
      return 'still-pending';
    }
    this.#setPending.run(publicKey, fingerprint, seq, roomId, nick);
    return 'changed';
  }

  /**
   * Marks the key with this fingerprint verified. Verifying the pending key accepts it too.
   * The fingerprint guards against verifying a key that changed while the user compared.
   */
  markVerified(roomId: RoomId, nick: string, fingerprint: string): KnownKeyRecord {
    const row = this.#require(roomId, nick);
    if (row.fingerprint === fingerprint) {
      this.#setVerified.run(roomId, nick);
    } else if (row.pending_fingerprint === fingerprint) {
      this.#promotePending.run(1, roomId, nick);
    } else {
      throw new KnownKeyMismatchError(
        `${nick}'s key in room ${roomId} is no longer ${fingerprint}; show it again.`,
      );
    }
    return this.#record(roomId, nick);
  }

  /** The pending key replaces the remembered one, unverified. */
  acceptChange(roomId: RoomId, nick: string, fingerprint: string): KnownKeyRecord {
    const row = this.#require(roomId, nick);
    if (row.pending_fingerprint !== fingerprint) {
      throw new KnownKeyMismatchError(
        `${nick} in room ${roomId} has no pending key ${fingerprint}; show it again.`,
      );
    }
    this.#promotePending.run(0, roomId, nick);
    return this.#record(roomId, nick);
  }

  #require(roomId: RoomId, nick: string): KnownKeyRow {
    const row = this.#get.get(roomId, nick);
    if (!row) throw new StoreMisuseError(`No known key for ${nick} in room ${roomId}.`);
    return row;
  }

  #record(roomId: RoomId, nick: string): KnownKeyRecord {
    return toRecord(roomId, this.#require(roomId, nick));
  }
}
