// room_snapshots and event_log: what the engine needs to resume a room (its latest state, sealed:
// it holds session keys) and what the debug panel shows (the last events and what became of them).

import type Database from 'better-sqlite3';
import { checkLimit } from './checks';
import { StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type { EventLogEntry, EventLogRecord, RoomId, SnapshotRecord } from './types';

interface SnapshotRow {
  epoch: number;
  seq: number;
  snapshot_sealed: Uint8Array;
  written_at: number;
}

interface LogRow {
  epoch: number;
  seq: number;
  type: string;
  size: number;
  outcome: string;
  at: number;
}

const snapshotSlot = (roomId: RoomId, epoch: number, seq: number): SealedSlot => ({
  table: 'room_snapshots',
  column: 'snapshot_sealed',
  row: [roomId, epoch, seq],
});

export class SnapshotTable {
  readonly #sealer: Sealer;
  readonly #put: Database.Statement<[number, number, number, Uint8Array, number]>;
  readonly #get: Database.Statement<[number], SnapshotRow>;
  readonly #delete: Database.Statement<[number]>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO room_snapshots (room_id, epoch, seq, snapshot_sealed, written_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.#get = db.prepare(
      'SELECT epoch, seq, snapshot_sealed, written_at FROM room_snapshots WHERE room_id = ?',
    );
    this.#delete = db.prepare('DELETE FROM room_snapshots WHERE room_id = ?');
  }

  put(roomId: RoomId, epoch: number, seq: number, snapshot: Uint8Array, at: number): void {
    const sealed = this.#sealer.seal(snapshotSlot(roomId, epoch, seq), snapshot);
    this.#put.run(roomId, epoch, seq, sealed, at);
  }

  latest(roomId: RoomId): SnapshotRecord | null {
    const row = this.#get.get(roomId);
    if (!row) return null;
    return {
      roomId,
      epoch: row.epoch,
      seq: row.seq,
      snapshot: this.#sealer.open(snapshotSlot(roomId, row.epoch, row.seq), row.snapshot_sealed),
      writtenAt: row.written_at,
    };
  }

  delete(roomId: RoomId): void {
    this.#delete.run(roomId);
  }
}

export class EventLogTable {
  readonly #insert: Database.Statement<[number, number, number, string, number, string, number]>;
  readonly #prune: Database.Statement<{ roomId: number; keep: number }>;
  readonly #tail: Database.Statement<[number, number], LogRow>;
  readonly #keep: number;
  readonly #pruneEvery: number;
  readonly #sincePrune = new Map<RoomId, number>();

  /**
   * Keeps the last `keep` events per room. Pruning walks `keep` index entries, so it runs every
   * min(keep, 64) inserts per room: a room holds at most keep + 63 rows in between.
   */
  constructor(db: Database.Database, keep: number) {
    if (!Number.isSafeInteger(keep) || keep < 1) {
      throw new StoreMisuseError(`eventLogLimit must be a positive integer, got ${keep}`);
    }
    this.#keep = keep;
    this.#pruneEvery = Math.min(keep, 64);
    this.#insert = db.prepare(
      `INSERT INTO event_log (room_id, epoch, seq, type, size, outcome, at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#prune = db.prepare(`
      DELETE FROM event_log WHERE room_id = @roomId AND id <= (
        SELECT id FROM event_log WHERE room_id = @roomId ORDER BY id DESC LIMIT 1 OFFSET @keep
      )`);
    this.#tail = db.prepare(`
      SELECT * FROM (
        SELECT id, epoch, seq, type, size, outcome, at FROM event_log
        WHERE room_id = ? ORDER BY id DESC LIMIT ?
      ) ORDER BY id`);
  }

  add(roomId: RoomId, epoch: number, seq: number, entry: EventLogEntry, at: number): void {
    this.#insert.run(roomId, epoch, seq, entry.type, entry.size, entry.outcome, at);
    const since = (this.#sincePrune.get(roomId) ?? 0) + 1;
    if (since >= this.#pruneEvery) this.#prune.run({ roomId, keep: this.#keep });
    this.#sincePrune.set(roomId, since >= this.#pruneEvery ? 0 : since);
  }

  /** The last `limit` events of the room, oldest first. */
  tail(roomId: RoomId, limit: number): EventLogRecord[] {
    checkLimit(limit);
    return this.#tail.all(roomId, limit).map((row) => ({
      roomId,
      epoch: row.epoch,
      seq: row.seq,
      type: row.type,
      size: row.size,
      outcome: row.outcome,
      at: row.at,
    }));
  }
}
