// outbox: messages typed but not yet ordered by the relay, body sealed. A row leaves the outbox
// when the relay's reflection of the message comes back (it is then in `messages`) or when the
// user discards it; a restart turns every 'sending' row into 'failed', to be retried.

import type Database from 'better-sqlite3';
import { StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type { OutboxRecord, OutboxState, RoomId } from './types';

interface OutboxRow {
  id: string;
  body_sealed: Uint8Array;
  state: OutboxState;
  error: string | null;
  created_at: number;
  updated_at: number;
}

const bodySlot = (roomId: RoomId, id: string): SealedSlot => ({
  table: 'outbox',
  column: 'body_sealed',
  row: [roomId, id],
});

const ID = /^[A-Za-z0-9_-]{1,64}$/;

export class OutboxTable {
  readonly #sealer: Sealer;
  readonly #insert: Database.Statement<[number, string, Uint8Array, number, number]>;
  readonly #list: Database.Statement<[number], OutboxRow>;
  readonly #setState: Database.Statement<[OutboxState, string | null, number, number, string]>;
  readonly #delete: Database.Statement<[number, string]>;
  readonly #failSending: Database.Statement<[string, number]>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#insert = db.prepare(
      `INSERT INTO outbox (room_id, id, body_sealed, state, created_at, updated_at)
       VALUES (?, ?, ?, 'sending', ?, ?)`,
    );
    this.#list = db.prepare(
      `SELECT id, body_sealed, state, error, created_at, updated_at FROM outbox
       WHERE room_id = ? ORDER BY created_at, rowid`,
    );
    this.#setState = db.prepare(
      'UPDATE outbox SET state = ?, error = ?, updated_at = ? WHERE room_id = ? AND id = ?',
    );
    this.#delete = db.prepare('DELETE FROM outbox WHERE room_id = ? AND id = ?');
    this.#failSending = db.prepare(
      `UPDATE outbox SET state = 'failed', error = ?, updated_at = ? WHERE state = 'sending'`,
    );
  }

  add(roomId: RoomId, id: string, body: string, now: number): void {
    if (!ID.test(id)) throw new StoreMisuseError('an outbox id is 1-64 URL-safe characters');
    this.#insert.run(roomId, id, this.#sealer.sealText(bodySlot(roomId, id), body), now, now);
  }

  list(roomId: RoomId): OutboxRecord[] {
    return this.#list.all(roomId).map((r) => ({
      roomId,
      id: r.id,
      body: this.#sealer.openText(bodySlot(roomId, r.id), r.body_sealed),
      state: r.state,
      error: r.error,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** False when there is no such row (it was sent or discarded meanwhile). */
  setState(roomId: RoomId, id: string, state: OutboxState, error: string | null, now: number) {
    return this.#setState.run(state, error, now, roomId, id).changes === 1;
  }

  delete(roomId: RoomId, id: string): boolean {
    return this.#delete.run(roomId, id).changes === 1;
  }

  /** At start: nothing is in flight any more. */
  failAllSending(reason: string, now: number): number {
    return this.#failSending.run(reason, now).changes;
  }
}
