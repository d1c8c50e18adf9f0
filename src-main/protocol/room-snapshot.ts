// A room state to and from snapshot.ts's format: everything needed to resume after a crash,
// secrets included (the store encrypts it). The bytes must not change for the same state.
import { admissionSnapshot, announceAdmission, restoreAdmission } from './admission';
import type { JoinPhase } from './events';
import { emit, emitSession } from './room-effects';
import type { Ordered, RoomState } from './room-state';
import { EMPTY } from './room-state';
import type { EngineSnapshot } from './snapshot';
import {
  SNAPSHOT_VERSION,
  encodeSnapshot,
  sessionFromSnapshot,
  sessionToSnapshot,
} from './snapshot';
import type { Nick } from './types';
import { asSeq, asSid, toHex } from './types';

/** Everything needed to resume after a crash, secrets included (the store encrypts it). */
export function toSnapshot(room: RoomState): Uint8Array {
  const snapshot: EngineSnapshot = {
    version: SNAPSHOT_VERSION,
    nick: room.nick,
    mode: room.mode,
    sessions: [...room.sessions.values()].map(sessionToSnapshot),
    current: room.current?.sid ?? null,
    draining: room.draining?.sid ?? null,
    previousCurrent: room.previousCurrent?.sid ?? null,
    pendingJoiners: room.pendingJoiners.map((j) => ({ ...j })),
    pendingLeavers: [...room.pendingLeavers],
    accusations: [...room.accusations].map(([who, by]) => [who, [...by]] as [string, string[]]),
    rekeyRequested: room.rekeyRequested,
    presence: [...room.presence],
    lastSeq: room.lastSeq,
    joinAttempts: [...room.joinAttempts.values()],
    joinRetries: room.joinRetries,
    sawConversation: room.sawConversation,
    buffer: room.buffer.map((e) => ({ ...e })),
    phase: room.phase,
    genesisKeys: [...room.genesisKeys],
    history: room.history,
    held: room.held.map((h) => ({ ...h })),
    burned: [...room.burned],
    banned: room.banned.map((b) => ({ nick: b.nick, lt: b.lt })),
    ...(room.batchJoiners ? { batchJoiners: [...room.batchJoiners] } : {}),
    ...(room.unbatchable.size ? { unbatchable: [...room.unbatchable] } : {}),
    ...(room.arriving.size ? { arriving: [...room.arriving] } : {}),
    ...(room.batchOpen ? { batchOpen: true } : {}),
    ...(admissionSnapshot(room) ? { admission: admissionSnapshot(room) } : {}),
    ...(room.blame
      ? {
          blame: {
            ...room.blame,
            participants: room.blame.participants.map((p) => ({ ...p })),
            revealed: [...room.blame.revealed],
          },
        }
      : {}),
  };
  return encodeSnapshot(snapshot);
}

/** Fill a new room state (`newRoomState`) from a decoded `toSnapshot()`. */
export function restoreSnapshot(room: RoomState, x: EngineSnapshot): void {
  room.mode = x.mode;
  for (const s of x.sessions) room.sessions.set(asSid(s.sid), sessionFromSnapshot(s));
  room.current = x.current ? (room.sessions.get(asSid(x.current)) ?? null) : null;
  room.draining = x.draining ? (room.sessions.get(asSid(x.draining)) ?? null) : null;
  room.previousCurrent = x.previousCurrent
    ? (room.sessions.get(asSid(x.previousCurrent)) ?? null)
    : null;
  room.pendingJoiners = x.pendingJoiners.map((j) => ({ ...j, nick: j.nick as Nick }));
  room.pendingLeavers = new Set(x.pendingLeavers as Nick[]);
  room.accusations = new Map(x.accusations.map(([w, by]) => [w as Nick, new Set(by as Nick[])]));
  room.rekeyRequested = x.rekeyRequested;
  for (const p of x.presence) room.presence.add(p as Nick);
  room.lastSeq = x.lastSeq;
  for (const kp of x.joinAttempts) room.joinAttempts.set(toHex(kp.publicKey), kp);
  room.joinRetries = x.joinRetries;
  room.sawConversation = x.sawConversation;
  room.buffer = x.buffer.map((e) => ({ ...e, seq: asSeq(e.seq), nick: e.nick as Nick }) as Ordered);
  room.phase = x.phase as JoinPhase;
  for (const [k, g] of x.genesisKeys) room.genesisKeys.set(k, g);
  room.history = x.history ?? EMPTY;
  room.held = (x.held ?? []).map((h) => (h.id === undefined ? { text: h.text } : { ...h }));
  room.burned = new Set((x.burned ?? []) as Nick[]);
  room.banned = (x.banned ?? []).map((b) => ({ nick: b.nick as Nick, lt: b.lt }));
  room.batchJoiners = x.batchJoiners ? (x.batchJoiners as Nick[]) : null;
  room.unbatchable = new Set((x.unbatchable ?? []) as Nick[]);
  room.arriving = new Map((x.arriving ?? []).map(([n, at]) => [n as Nick, at]));
  room.batchOpen = x.batchOpen ?? false;
  restoreAdmission(room, x.admission);
  if (x.blame) {
    const b = x.blame;
    room.blame = {
      ...b,
      sid: asSid(b.sid),
      participants: b.participants.map((p) => ({ ...p, nick: p.nick as Nick })),
      joiner: b.joiner as Nick | null,
      joiners: b.joiners as Nick[] | undefined,
      vetoer: b.vetoer as Nick | null,
      accused: (b.accused ?? b.joiner) as Nick | null,
      memberKcs: b.memberKcs ?? [],
      need: b.need as Nick[],
      revealed: new Map(b.revealed.map(([n, s]) => [n as Nick, s])),
    };
  }
}

/**
 * After a restart, say where we stand without being asked: every session that is not dead,
 * marked restored, and the join phase (the host adds its connection phase).
 */
export function announceRestored(room: RoomState): void {
  const seq = asSeq(room.lastSeq);
  for (const s of room.sessions.values()) if (s.status !== 'dead') emitSession(room, s, seq, true);
  announceAdmission(room);
  emit(room, { type: 'join-phase', phase: room.phase, detail: 'restored' });
}
