// room_notices: the timeline's membership lines and warnings, so that "joined" and "left" are
// still there after a restart. Bounded per room: the oldest go first.

import type Database from 'better-sqlite3';
import { checkLimit } from './checks';
import { StoreMisuseError } from './errors';
import type { NoticeKind, NoticeRecord, RoomId } from './types';

interface NoticeRow {
  epoch: number;
  seq: number;
  kind: NoticeKind;
  nick: string | null;
  text: string;
  at: number;
}

export const NOTICES_PER_ROOM = 1000;

export class NoticeTable {
  readonly #insert: Database.Statement<
    [number, number, number, NoticeKind, string | null, string, number]
  >;
  readonly #tail: Database.Statement<[number, number], NoticeRow>;
  readonly #prune: Database.Statement<[number, number, number]>;
  #inserts = 0;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO room_notices (room_id, epoch, seq, kind, nick, text, at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#tail = db.prepare(
      `SELECT * FROM (
         SELECT id, epoch, seq, kind, nick, text, at FROM room_notices
         WHERE room_id = ? ORDER BY id DESC LIMIT ?
       ) ORDER BY id`,
    );
    this.#prune = db.prepare(
      `DELETE FROM room_notices WHERE room_id = ? AND id <= (
         SELECT id FROM room_notices WHERE room_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    );
  }

  add(roomId: RoomId, epoch: number, notice: Omit<NoticeRecord, 'roomId' | 'epoch'>): void {
    if (notice.text.length > 2000) throw new StoreMisuseError('a notice is at most 2000 chars');
    this.#insert.run(roomId, epoch, notice.seq, notice.kind, notice.nick, notice.text, notice.at);
    if (++this.#inserts % 64 === 0) this.#prune.run(roomId, roomId, NOTICES_PER_ROOM);
  }

  tail(roomId: RoomId, limit: number): NoticeRecord[] {
    checkLimit(limit);
    return this.#tail.all(roomId, limit).map((r) => ({
      roomId,
      epoch: r.epoch,
      seq: r.seq,
      kind: r.kind,
      nick: r.nick,
      text: r.text,
      at: r.at,
    }));
  }
}
