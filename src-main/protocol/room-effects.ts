// What every module of the engine does to the room state (room-state.ts) besides its own
// concern: queue effects (send, emit, warn, arm and cancel timers), report and kill sessions, and
// the few lookups and key caches they all share.
import { CryptoError } from './crypto';
import { tripleDh } from './derive';
import type { AppEvent, JoinPhase, WarningCode } from './events';
import type { RoomState } from './room-state';
import { EMPTY, MAX_DEAD_SESSIONS } from './room-state';
import type { OwnPart, Session } from './session';
import type { TransitionReason } from './transitions';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import { asSeq, toHex } from './types';

export function isMember(room: RoomState): boolean {
  return room.current?.indexByNick.has(room.nick) === true && room.mode === 'attached';
}

export function limboOnCurrent(room: RoomState): Session[] {
  const c = room.current;
  if (!c) return [];
  return [...room.sessions.values()].filter((s) => s.status === 'in-limbo' && s.parent === c.sid);
}

/** The live batch on the current session that covers `nick`, unless it stalled for us. */
export function coveringBatch(room: RoomState, nick: Nick): Session | null {
  for (const s of limboOnCurrent(room)) {
    if (s.kind === 'batch' && !s.stalled && s.isJoiner(nick)) return s;
  }
  return null;
}

export function kill(
  room: RoomState,
  session: Session,
  reason: TransitionReason,
  seq: Seq,
  at: number,
): void {
  if (session.transition('dead', reason, seq, at) === null) return;
  cancel(room, `limbo:${session.sid}`);
  emitSession(room, session, seq);
}

export function pruneDead(room: RoomState): void {
  const dead = [...room.sessions.values()].filter((s) => s.status === 'dead');
  for (const s of dead.slice(0, Math.max(0, dead.length - MAX_DEAD_SESSIONS))) {
    room.sessions.delete(s.sid);
  }
}

export function newOwnPart(
  room: RoomState,
  index: number,
  eph: SignKeyPair,
  parentTranscript: Uint8Array,
): OwnPart {
  return {
    index,
    eph,
    ringSecret: EMPTY,
    pairKeys: new Map<number, Uint8Array>(),
    tokensOk: new Set<number>(),
    parentTranscript,
    sk: null,
    next: null,
    chain: [],
    sendCounter: 0,
    seenChat: new Map<string, number>(),
    replayFloor: 0,
    mismatched: new Set<Nick>(),
    inconsistent: false,
  };
}

export function pairKey(room: RoomState, session: Session, peerIndex: number): Uint8Array {
  const own = session.own as NonNullable<Session['own']>;
  let k = own.pairKeys.get(peerIndex);
  if (!k) {
    const peer = session.participants[peerIndex] as Participant;
    // Sibling sessions on one parent reuse everyone's next ephemeral key, so the same pair
    // key serves all of them: compute it once (each session keeps its own copy to wipe).
    k = sharedPairKey(room, own.eph, peer).slice();
    own.pairKeys.set(peerIndex, k);
  }
  return k;
}

/** Our triple-DH key with `peer` under our ephemeral `eph`, from the cache or computed into it. */
function sharedPairKey(room: RoomState, eph: SignKeyPair, peer: Participant): Uint8Array {
  const cacheKey = `${toHex(eph.publicKey)}|${peer.nick}|${toHex(peer.lt)}|${toHex(peer.eph)}`;
  let shared = room.pairKeyCache.get(cacheKey);
  if (!shared) {
    shared = tripleDh(room.crypto, { nick: room.nick, lt: room.identity, eph }, peer);
    room.pairKeyCache.set(cacheKey, shared);
  }
  return shared;
}

/**
 * Rule B1a: while other clients are still arriving, a member computes its pair key with a joiner
 * that has just asked, in the time it waits anyway, so that the batch contribution finds every
 * joiner's key cached. Only a cache: a key that does not convert fails later, where it is used.
 */
export function warmPairKey(room: RoomState, peer: Participant): void {
  const eph = room.current?.own?.next;
  if (!eph || !isMember(room)) return;
  try {
    sharedPairKey(room, eph, peer);
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
  }
}

/** Forget cached pair keys: they belong to ephemeral keys of sessions now superseded. */
export function clearPairKeyCache(room: RoomState): void {
  for (const k of room.pairKeyCache.values()) k.fill(0);
  room.pairKeyCache.clear();
}

export function transcriptHead(room: RoomState, session: Session): Uint8Array {
  const chain = session.own?.chain;
  return chain?.[chain.length - 1]?.hash ?? EMPTY;
}

export function send(room: RoomState, data: Uint8Array): void {
  room.effects.push({ type: 'send', data });
}

export function emit(room: RoomState, event: AppEvent): void {
  room.effects.push({ type: 'event', event });
}

export function emitSession(room: RoomState, session: Session, seq: Seq, restored = false): void {
  const last = session.history[session.history.length - 1];
  emit(room, {
    type: 'session',
    sid: session.sid,
    status: session.status,
    members: session.members,
    reason: last?.reason ?? '',
    seq,
    parent: session.parent,
    kind: session.kind,
    ...(session.kind === 'batch' ? { joiners: [...session.joiners] } : {}),
    ...(restored ? { restored: true } : {}),
  });
}

export function warn(room: RoomState, code: WarningCode, message: string, seq?: number): void {
  emit(room, {
    type: 'warning',
    code,
    message,
    ...(seq === undefined ? {} : { seq: asSeq(seq) }),
  });
}

export function setPhase(room: RoomState, phase: JoinPhase, detail: string): void {
  if (room.phase === phase) return;
  room.phase = phase;
  emit(room, { type: 'join-phase', phase, detail });
}

export function arm(room: RoomState, key: string, afterMs: number): void {
  room.effects.push({ type: 'arm-timer', key, afterMs });
}

export function cancel(room: RoomState, key: string): void {
  room.effects.push({ type: 'cancel-timer', key });
}
