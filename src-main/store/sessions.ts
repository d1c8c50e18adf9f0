// sessions and session_history: every session the engine has seen in a room, with its status,
// members and join progress in clear (the UI shows them), and its secrets sealed until it dies.

import type Database from 'better-sqlite3';
import * as v from 'valibot';
import { checkSid } from './checks';
import { StoreDataError, StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type {
  JsonValue,
  RoomId,
  SessionHistoryRecord,
  SessionKind,
  SessionRecord,
  SessionStatus,
  SessionStatusChange,
  SessionUpsert,
} from './types';

interface SessionRow {
  sid: string;
  status: SessionStatus;
  kind: SessionKind;
  parent_sid: string | null;
  reason: string;
  members: string;
  progress: string | null;
  joiners: string | null;
  created_seq: number;
  updated_seq: number;
  created_at: number;
  has_secret: number;
}

interface HistoryRow {
  sid: string;
  status: SessionStatus;
  reason: string;
  seq: number | null;
  at: number;
}

interface UpsertParams {
  roomId: number;
  sid: string;
  status: SessionStatus;
  kind: SessionKind;
  parentSid: string | null;
  reason: string;
  members: string;
  progress: string | null;
  joiners: string | null;
  seq: number;
  at: number;
  keepSecret: 0 | 1;
  secret: Uint8Array | null;
}

const Members = v.array(v.object({ nick: v.string(), fingerprint: v.string() }));
const Joiners = v.array(v.string());

const secretSlot = (roomId: RoomId, sid: string): SealedSlot => ({
  table: 'sessions',
  column: 'secret_sealed',
  row: [roomId, sid],
});

export class SessionTable {
  readonly #sealer: Sealer;
  readonly #upsert: Database.Statement<[UpsertParams]>;
  readonly #list: Database.Statement<[number], SessionRow>;
  readonly #secret: Database.Statement<[number, string], { secret: Uint8Array | null }>;
  readonly #live: Database.Statement<[number], { sid: string }>;
  readonly #kill: Database.Statement<[string, number, string]>;
  readonly #addHistory: Database.Statement<
    [number, string, SessionStatus, string, number | null, number]
  >;
  readonly #roomHistory: Database.Statement<[number], HistoryRow>;
  readonly #sessionHistory: Database.Statement<[number, string], HistoryRow>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#upsert = db.prepare(`
      INSERT INTO sessions (room_id, sid, status, kind, parent_sid, reason, members, progress,
                            joiners, created_seq, updated_seq, created_at, secret_sealed)
      VALUES (@roomId, @sid, @status, @kind, @parentSid, @reason, @members, @progress, @joiners,
              @seq, @seq, @at, CASE WHEN @status = 'dead' THEN NULL ELSE @secret END)
      ON CONFLICT (room_id, sid) DO UPDATE SET
        status = excluded.status,
        joiners = coalesce(joiners, excluded.joiners),
        parent_sid = excluded.parent_sid,
        reason = excluded.reason,
        members = excluded.members,
        progress = excluded.progress,
        updated_seq = excluded.updated_seq,
        secret_sealed = CASE
          WHEN excluded.status = 'dead' THEN NULL
          WHEN @keepSecret THEN secret_sealed
          ELSE excluded.secret_sealed
        END`);
    this.#list = db.prepare(`
      SELECT sid, status, kind, parent_sid, reason, members, progress, joiners, created_seq,
             updated_seq, created_at, secret_sealed IS NOT NULL AS has_secret
      FROM sessions WHERE room_id = ? ORDER BY created_seq, rowid`);
    this.#secret = db.prepare(
      'SELECT secret_sealed AS secret FROM sessions WHERE room_id = ? AND sid = ?',
    );
    this.#live = db.prepare(
      `SELECT sid FROM sessions WHERE room_id = ? AND status <> 'dead' ORDER BY rowid`,
    );
    this.#kill = db.prepare(
      `UPDATE sessions SET status = 'dead', reason = ?, secret_sealed = NULL
       WHERE room_id = ? AND sid = ?`,
    );
    this.#addHistory = db.prepare(
      'INSERT INTO session_history (room_id, sid, status, reason, seq, at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const history = 'SELECT sid, status, reason, seq, at FROM session_history';
    this.#roomHistory = db.prepare(`${history} WHERE room_id = ? ORDER BY id`);
    this.#sessionHistory = db.prepare(`${history} WHERE room_id = ? AND sid = ? ORDER BY id`);
  }

  upsert(roomId: RoomId, seq: number, session: SessionUpsert, at: number): void {
    checkSid(session.sid);
    if (session.parentSid !== null) checkSid(session.parentSid, 'parentSid');
    if (session.status === 'dead' && session.secret) {
      throw new StoreMisuseError(`Session ${session.sid} is dead but a secret was given to store.`);
    }
    const secret = session.secret
      ? this.#sealer.seal(secretSlot(roomId, session.sid), session.secret)
      : null;
    this.#upsert.run({
      roomId,
      sid: session.sid,
      status: session.status,
      kind: session.kind,
      parentSid: session.parentSid,
      reason: session.reason,
      // Only the declared fields: anything else on the objects would land on disk in clear.
      members: JSON.stringify(
        session.members.map(({ nick, fingerprint }) => ({ nick, fingerprint })),
      ),
      progress: session.progress === null ? null : JSON.stringify(session.progress),
      joiners: session.joiners ? JSON.stringify(session.joiners.map(String)) : null,
      seq,
      at,
      keepSecret: session.secret === undefined ? 1 : 0,
      secret,
    });
  }

  list(roomId: RoomId): SessionRecord[] {
    return this.#list.all(roomId).map((row) => ({
      roomId,
      sid: row.sid,
      status: row.status,
      kind: row.kind,
      parentSid: row.parent_sid,
      reason: row.reason,
      members: parseMembers(row.members, roomId, row.sid),
      progress: row.progress === null ? null : (JSON.parse(row.progress) as JsonValue),
      joiners: row.joiners === null ? null : parseJoiners(row.joiners, roomId, row.sid),
      createdSeq: row.created_seq,
      updatedSeq: row.updated_seq,
      createdAt: row.created_at,
      hasSecret: row.has_secret === 1,
    }));
  }

  /** The session's secret, decrypted; null once the session is dead. The caller zeroes it. */
  secret(roomId: RoomId, sid: string): Uint8Array | null {
    const row = this.#secret.get(roomId, sid);
    if (!row) throw new StoreMisuseError(`Room ${roomId} has no session ${sid}.`);
    return row.secret === null ? null : this.#sealer.open(secretSlot(roomId, sid), row.secret);
  }

  addHistory(roomId: RoomId, seq: number | null, change: SessionStatusChange, at: number): void {
    this.#addHistory.run(roomId, change.sid, change.status, change.reason, seq, at);
  }

  history(roomId: RoomId, sid?: string): SessionHistoryRecord[] {
    const rows =
      sid === undefined ? this.#roomHistory.all(roomId) : this.#sessionHistory.all(roomId, sid);
    return rows.map((row) => ({ roomId, ...row }));
  }

  /** Marks every live session dead (secrets removed), with a history row each; returns the sids. */
  killAll(roomId: RoomId, reason: string, at: number): string[] {
    const sids = this.#live.all(roomId).map((row) => row.sid);
    for (const sid of sids) {
      this.#kill.run(reason, roomId, sid);
      this.addHistory(roomId, null, { sid, status: 'dead', reason }, at);
    }
    return sids;
  }
}

function parseMembers(json: string, roomId: RoomId, sid: string): SessionRecord['members'] {
  const parsed = v.safeParse(Members, JSON.parse(json));
  if (!parsed.success) {
    throw new StoreDataError(`sessions.members of room ${roomId}, session ${sid} is malformed.`);
  }
  return parsed.output;
}

function parseJoiners(json: string, roomId: RoomId, sid: string): readonly string[] {
  const parsed = v.safeParse(Joiners, JSON.parse(json));
  if (!parsed.success) {
    throw new StoreDataError(`sessions.joiners of room ${roomId}, session ${sid} is malformed.`);
  }
  return parsed.output;
}
