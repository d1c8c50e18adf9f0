// rooms: one row per (relay, room) the user has joined, with the relay cursor that applyEvent
// advances and the relay's resume token (sealed: it lets its holder resume the membership).

import type Database from 'better-sqlite3';
import { StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type { RoomId, RoomRecord, RoomState } from './types';

interface RoomRow {
  id: number;
  relay_url: string;
  name: string;
  nick: string;
  state: RoomState;
  epoch: number;
  cursor_seq: number;
  has_token: number;
  created_at: number;
  muted: number;
}

const COLUMNS = `id, relay_url, name, nick, state, epoch, cursor_seq,
  resume_token_sealed IS NOT NULL AS has_token, created_at, muted`;

function toRecord(row: RoomRow): RoomRecord {
  return {
    id: row.id as RoomId,
    relayUrl: row.relay_url,
    name: row.name,
    nick: row.nick,
    state: row.state,
    epoch: row.epoch,
    cursorSeq: row.cursor_seq,
    hasResumeToken: row.has_token === 1,
    createdAt: row.created_at,
    muted: row.muted === 1,
  };
}

const tokenSlot = (roomId: RoomId): SealedSlot => ({
  table: 'rooms',
  column: 'resume_token_sealed',
  row: [roomId],
});

export class RoomTable {
  readonly #sealer: Sealer;
  readonly #list: Database.Statement<[], RoomRow>;
  readonly #get: Database.Statement<[number], RoomRow>;
  readonly #find: Database.Statement<[string, string], RoomRow>;
  readonly #insert: Database.Statement<[string, string, string, number], { id: number }>;
  readonly #rejoin: Database.Statement<[string, number]>;
  readonly #setToken: Database.Statement<[Uint8Array | null, number]>;
  readonly #getToken: Database.Statement<[number], { token: Uint8Array | null }>;
  readonly #setCursor: Database.Statement<[number, number]>;
  readonly #newEpoch: Database.Statement<[RoomState, number]>;
  readonly #delete: Database.Statement<[number]>;
  readonly #setMuted: Database.Statement<[number, number]>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM rooms ORDER BY id`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM rooms WHERE id = ?`);
    this.#find = db.prepare(`SELECT ${COLUMNS} FROM rooms WHERE relay_url = ? AND name = ?`);
    this.#insert = db.prepare(
      'INSERT INTO rooms (relay_url, name, nick, created_at) VALUES (?, ?, ?, ?) RETURNING id',
    );
    this.#rejoin = db.prepare(`UPDATE rooms SET nick = ?, state = 'joined' WHERE id = ?`);
    this.#setToken = db.prepare('UPDATE rooms SET resume_token_sealed = ? WHERE id = ?');
    this.#getToken = db.prepare('SELECT resume_token_sealed AS token FROM rooms WHERE id = ?');
    this.#setCursor = db.prepare('UPDATE rooms SET cursor_seq = ? WHERE id = ?');
    this.#newEpoch = db.prepare(
      `UPDATE rooms SET epoch = epoch + 1, cursor_seq = 0, resume_token_sealed = NULL, state = ?
       WHERE id = ?`,
    );
    this.#delete = db.prepare('DELETE FROM rooms WHERE id = ?');
    this.#setMuted = db.prepare('UPDATE rooms SET muted = ? WHERE id = ?');
  }

  list(): RoomRecord[] {
    return this.#list.all().map(toRecord);
  }

  get(roomId: RoomId): RoomRecord | null {
    const row = this.#get.get(roomId);
    return row ? toRecord(row) : null;
  }

  /** Like get, for callers that name a room they believe exists. */
  require(roomId: RoomId): RoomRecord {
    const room = this.get(roomId);
    if (!room) throw new StoreMisuseError(`No room with id ${roomId}.`);
    return room;
  }

  find(relayUrl: string, name: string): RoomRecord | null {
    const row = this.#find.get(relayUrl, name);
    return row ? toRecord(row) : null;
  }

  /** Creates the room (state 'joined') or, if it exists, sets the nick and state 'joined'. */
  upsert(relayUrl: string, name: string, nick: string, now: number): RoomRecord {
    const existing = this.find(relayUrl, name);
    if (existing) {
      this.#rejoin.run(nick, existing.id);
      return this.require(existing.id);
    }
    const { id } = this.#insert.get(relayUrl, name, nick, now) as { id: number };
    return this.require(id as RoomId);
  }

  setResumeToken(roomId: RoomId, token: string | null): void {
    const sealed = token === null ? null : this.#sealer.sealText(tokenSlot(roomId), token);
    this.#changeOne(this.#setToken.run(sealed, roomId), roomId);
  }

  resumeToken(roomId: RoomId): string | null {
    const row = this.#getToken.get(roomId);
    if (!row) throw new StoreMisuseError(`No room with id ${roomId}.`);
    return row.token === null ? null : this.#sealer.openText(tokenSlot(roomId), row.token);
  }

  setCursor(roomId: RoomId, seq: number): void {
    this.#changeOne(this.#setCursor.run(seq, roomId), roomId);
  }

  /** Next relay log: epoch + 1, cursor back to 0, resume token dropped. */
  startNewEpoch(roomId: RoomId, state: RoomState): void {
    this.#changeOne(this.#newEpoch.run(state, roomId), roomId);
  }

  setMuted(roomId: RoomId, muted: boolean): void {
    this.#changeOne(this.#setMuted.run(muted ? 1 : 0, roomId), roomId);
  }

  delete(roomId: RoomId): void {
    this.#changeOne(this.#delete.run(roomId), roomId);
  }

  #changeOne(result: Database.RunResult, roomId: RoomId): void {
    if (result.changes !== 1) throw new StoreMisuseError(`No room with id ${roomId}.`);
  }
}
