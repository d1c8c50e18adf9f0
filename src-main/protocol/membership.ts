// Which sessions exist and which one is current: the pending lists, the winner rule, leaves
// and rekeys (PROTOCOL.md rules 1, 3, 4, 7), and the chats held while someone is leaving.
import { batchCandidates, normalizeBatch, releaseBatchHolds } from './batch';
import { encodeFrame } from './codec';
import {
  deriveSid,
  historyStart,
  sortParticipants,
  transcriptStart,
  withParticipant,
} from './derive';
import type { SessionKind } from './events';
import { releaseGather, sendTimeout, startParticipating } from './keying';
import {
  arm,
  cancel,
  clearPairKeyCache,
  emit,
  emitSession,
  isMember,
  kill,
  limboOnCurrent,
  pruneDead,
  send,
  setPhase,
  warn,
} from './room-effects';
import type { Departure, DropReason, MessageEvent, PendingJoiner, RoomState } from './room-state';
import { Session } from './session';
import type { TransitionReason } from './transitions';
import type { Nick, Participant, Seq } from './types';
import { asSid, toHex } from './types';

/** From how many pending joiners on their one-joiner sessions' sids are remembered (`sidOf`). */
const MEMO_FROM = 3;

interface Desired {
  kind: SessionKind;
  joiner: PendingJoiner | null;
  list: Participant[];
  joiners?: Nick[];
  /** One-joiner sessions: what its sid is remembered by (`sidOf`). */
  memo?: string;
}

/** The sessions that should be in limbo on the current session, from the pending lists. */
export function desiredSessions(room: RoomState): Desired[] {
  const c = room.current;
  if (!c || room.blame) return []; // nothing is built while a blame round is open
  const base: Participant[] = [];
  c.participants.forEach((p, i) => {
    const next = c.confirmed[i];
    if (!room.pendingLeavers.has(p.nick) && next) base.push({ nick: p.nick, lt: p.lt, eph: next });
  });
  if (base.length === 0) return [];
  // A member whose next key was revealed builds nothing until its replacement is ordered.
  if (base.some((p) => room.burned.has(p.nick))) return [];
  const out: Desired[] = [];
  // The batch first: the one-joiner sessions created with it see that it covers them.
  const inBatch = room.pendingJoiners.filter(
    (j) => room.batchJoiners?.includes(j.nick) && !base.some((p) => p.nick === j.nick),
  );
  if (inBatch.length >= 2) {
    const list = sortParticipants([
      ...base,
      ...inBatch.map((j) => ({ nick: j.nick, lt: j.lt, eph: j.eph })),
    ]);
    const joiners = list.filter((p) => inBatch.some((j) => j.nick === p.nick)).map((p) => p.nick);
    out.push({ kind: 'batch', joiner: null, list, joiners });
  }
  const baseNicks = new Set(base.map((p) => p.nick));
  const sortedBase = sortParticipants(base);
  // Remembering sids pays only when several joiners are pending (a burst); a lone joiner's sid
  // is hashed as before, without building the key.
  const baseKey =
    room.pendingJoiners.length >= MEMO_FROM
      ? `${c.sid}|${base.map((p) => `${p.nick}:${toHex(p.eph)}`).join(',')}`
      : null;
  for (const j of room.pendingJoiners) {
    if (baseNicks.has(j.nick)) continue;
    const memo = baseKey ? `${baseKey}|${j.nick}|${toHex(j.lt)}|${toHex(j.eph)}` : undefined;
    const list = withParticipant(sortedBase, { nick: j.nick, lt: j.lt, eph: j.eph });
    out.push({ kind: 'join', joiner: j, list, memo });
  }
  if ([...room.pendingLeavers].some((l) => c.indexByNick.has(l))) {
    out.push({ kind: 'leave', joiner: null, list: sortParticipants(base) });
  } else if (room.rekeyRequested) {
    out.push({ kind: 'rekey', joiner: null, list: sortParticipants(base) });
  }
  return out;
}

/**
 * The sid of a desired session. A one-joiner session's is remembered by everything its list is
 * made of (C, every other participant's nick and next key, the joiner's nick and keys): every
 * ordered event reconciles, and recomputing every pending joiner's sid at each request made a
 * burst of k requests cost O(k^2) hashes of n + 1 keys, which put members behind the relay.
 */
function sidOf(room: RoomState, c: Session, d: Desired): Uint8Array {
  if (!d.memo) return deriveSid(room.crypto, c.sidBytes, d.list);
  let sid = room.sidMemo.get(d.memo);
  if (!sid) {
    sid = deriveSid(room.crypto, c.sidBytes, d.list);
    if (room.sidMemo.size >= 1_024) room.sidMemo.clear();
    room.sidMemo.set(d.memo, sid);
  }
  return sid;
}

/** Kill the in-limbo sessions that no longer match the pending lists; create the missing ones. */
export function reconcile(room: RoomState, seq: Seq, at: number, why: TransitionReason): void {
  const c = room.current;
  if (!c) return;
  normalizeBatch(room);
  const desired = desiredSessions(room).map((d) => ({
    ...d,
    sidBytes: sidOf(room, c, d),
  }));
  const wanted = new Set(desired.map((d) => toHex(d.sidBytes)));
  for (const s of limboOnCurrent(room)) {
    if (!wanted.has(s.sid)) {
      const reason: TransitionReason =
        why.kind === 'created' ? { kind: 'obsolete', detail: why.detail } : why;
      kill(room, s, reason, seq, at);
    }
  }
  for (const d of desired) {
    const sid = asSid(toHex(d.sidBytes));
    const existing = room.sessions.get(sid);
    if (existing) {
      if (existing.status === 'dead') {
        warn(room, 'sid-collision', `session ${sid.slice(0, 12)} would be recreated`, seq);
      }
      continue;
    }
    const detail =
      d.kind === 'join'
        ? `join of ${d.joiner?.nick}`
        : d.kind === 'batch'
          ? `batch join of ${(d.joiners ?? []).join(', ')}`
          : d.kind === 'leave'
            ? `leave of ${[...room.pendingLeavers].join(', ')}`
            : 'rekey';
    const session = new Session(
      sid,
      d.sidBytes,
      c.sid,
      d.kind,
      d.list,
      d.joiner?.nick ?? null,
      seq,
      at,
      d.joiners,
    );
    session.record('in-limbo', { kind: 'created', detail }, seq, at);
    room.sessions.set(sid, session);
    emitSession(room, session, seq);
    if (d.joiner) emit(room, { type: 'member-joining', nick: d.joiner.nick, sid, seq });
    startParticipating(room, session, seq);
  }
  // A change may have moved another join session to the front: contribute to it now (unless
  // we gather the clients still arriving, rule B1a).
  releaseGather(room, seq);
  releaseBatchHolds(room, seq);
  pruneDead(room);
}

/** Form the batch of `candidates` still pending (docs/PROTOCOL.md "Batch admission", rule B1). */
export function formBatch(room: RoomState, candidates: Nick[], seq: Seq, at: number): void {
  if (room.batchJoiners || !room.current || room.blame) return;
  const pending = new Set(room.pendingJoiners.map((j) => j.nick));
  const still = candidates.filter((n) => pending.has(n) && !room.unbatchable.has(n));
  if (still.length < 2) return;
  room.batchJoiners = still;
  reconcile(room, seq, at, { kind: 'created', detail: `batch join of ${still.join(', ')}` });
}

/** PROTOCOL.md rule 3: the first in-limbo session confirmed by all participants wins. */
export function makeCurrent(room: RoomState, winner: Session, seq: Seq, at: number): void {
  const old = room.current;
  const reason = winner.transition('current', { kind: 'confirmed-by-all' }, seq, at);
  if (reason === null) return;
  room.previousCurrent = old;
  room.current = winner;
  cancel(room, `limbo:${winner.sid}`);
  emitSession(room, winner, seq);
  if (room.draining) kill(room, room.draining, { kind: 'draining-ended' }, seq, at);
  room.draining = null;
  if (old) {
    for (const s of [...room.sessions.values()]) {
      if (s.status === 'in-limbo' && s.parent === old.sid && s !== winner) {
        kill(room, s, { kind: 'superseded', by: winner.sid }, seq, at);
      }
    }
    old.transition('in-limbo', { kind: 'superseded', by: winner.sid }, seq, at);
    emitSession(room, old, seq);
    if (old.own?.sk) {
      room.draining = old;
      arm(room, `drain:${old.sid}`, room.drainMs);
    } else {
      kill(room, old, { kind: 'superseded', by: winner.sid }, seq, at);
    }
    for (const nick of old.members) {
      if (!winner.indexByNick.has(nick)) {
        emit(room, { type: 'member-cannot-read', nick, sid: winner.sid, seq });
      }
    }
  }
  for (const nick of winner.members) {
    if (!old?.indexByNick.has(nick))
      emit(room, { type: 'member-joined', nick, sid: winner.sid, seq });
  }
  if (winner.own?.sk && winner.own.mismatched.size > 0) {
    // Accuse, in the new session, those whose confirmation disagreed with ours: a majority
    // of agreeing members evicts the odd one out (rule 6), who may then rejoin.
    sendTimeout(room, winner, [...winner.own.mismatched], false);
  }
  if (winner.own?.sk) {
    winner.own.chain = [
      { seq, hash: transcriptStart(room.crypto, winner.own.sk, winner.sidBytes) },
    ];
  }
  room.history = historyStart(room.crypto, winner.sidBytes);
  room.burned.clear();
  clearPairKeyCache(room);
  room.sidMemo.clear();
  room.pendingJoiners = room.pendingJoiners.filter((j) => !winner.indexByNick.has(j.nick));
  for (const nick of winner.members) room.slowJoiners.delete(nick);
  room.pendingLeavers = new Set([...room.pendingLeavers].filter((l) => winner.indexByNick.has(l)));
  room.accusations.clear();
  room.rekeyRequested = false;
  // Every session is built anew on the winner: the joiners pending now form the next batch.
  room.batchJoiners = null;
  room.batchOpen = false;
  room.batchJoiners = batchCandidates(room);
  if (winner.indexByNick.has(room.nick)) {
    if (winner.own) {
      setPhase(room, 'member', `member of ${winner.sid.slice(0, 12)}`);
      cancel(room, 'join-retry');
      if (room.rekeyIntervalMs > 0) arm(room, 'rekey', room.rekeyIntervalMs);
    }
  } else if (old?.indexByNick.has(room.nick)) {
    setPhase(room, 'left', 'the room continues without us');
  }
  reconcile(room, seq, at, { kind: 'superseded', by: winner.sid });
  releaseHeld(room, seq);
}

/** Send the chats that waited for a session without departed participants (or fail them). */
export function releaseHeld(room: RoomState, seq: Seq): void {
  if (room.held.length === 0) return;
  const c = room.current;
  if (!isMember(room) || !c?.own?.sk) {
    if (room.mode === 'attached' && isMember(room) === false && room.phase === 'left') {
      for (const h of room.held.splice(0)) {
        emit(room, {
          type: 'chat-failed',
          ...(h.id === undefined ? {} : { id: h.id }),
          text: h.text,
          reason: 'we are no longer a member of the room',
        });
      }
    }
    return;
  }
  if (sendingBlocked(room)) return;
  void seq;
  for (const h of room.held.splice(0)) {
    emit(room, { type: 'chat-released', ...(h.id === undefined ? {} : { id: h.id }), sid: c.sid });
    room.ops.sendChat(room, h.text, h.id);
  }
}

/**
 * Why a new chat may not be encrypted now: someone whose LEAVE, departure or eviction is
 * ordered is still in the current session, or a participant's confirmation disagreed with
 * our key or transcript (its view of the room differs). Null when sending is fine.
 */
export function sendingBlocked(room: RoomState): string | null {
  const c = room.current;
  if (!c) return null;
  const leaving = c.members.filter((m) => room.pendingLeavers.has(m) && m !== room.nick);
  if (leaving.length > 0) return `waiting for the room to re-key without ${leaving.join(', ')}`;
  const odd = [...(c.own?.mismatched ?? [])];
  if (odd.length > 0)
    return `waiting for the room to re-key: ${odd.join(', ')} saw a different room`;
  return null;
}

export function departure(room: RoomState, nick: Nick, how: Departure, seq: Seq, at: number): void {
  const joinerIdx = room.pendingJoiners.findIndex((j) => j.nick === nick);
  if (joinerIdx >= 0) {
    room.pendingJoiners.splice(joinerIdx, 1);
    reconcile(room, seq, at, { kind: 'joiner-dropped', nick });
  }
  const c = room.current;
  if (!c || !c.indexByNick.has(nick) || room.pendingLeavers.has(nick)) return;
  room.pendingLeavers.add(nick);
  room.burned.delete(nick);
  emit(room, { type: 'member-left', nick, sid: c.sid, seq, reason: how });
  if (nick === room.nick) {
    setPhase(room, 'left', `we ${how === 'evicted' || how === 'blamed' ? 'were removed' : 'left'}`);
  }
  if (c.members.every((m) => room.pendingLeavers.has(m))) {
    room.blame = null;
    conversationEnded(room, c, seq, at);
    return;
  }
  // A participant of an open blame round left before revealing: the round may end now.
  if (room.blame?.need.includes(nick) && !room.blame.revealed.has(nick)) {
    room.ops.revealerGone(room, nick, seq, at);
  }
  reconcile(room, seq, at, { kind: 'participant-left', nick });
}

/**
 * Every member of the current session has left: nobody is left to admit the pending joiners.
 * Each of them founds the room anew; the first genesis in the stream wins and its founder then
 * admits the others, who are still pending in everyone's view.
 */
export function conversationEnded(room: RoomState, c: Session, seq: Seq, at: number): void {
  const why: TransitionReason = { kind: 'obsolete', detail: 'all members left' };
  for (const s of limboOnCurrent(room)) kill(room, s, why, seq, at);
  c.transition('in-limbo', why, seq, at);
  emitSession(room, c, seq);
  if (room.draining) kill(room, room.draining, { kind: 'draining-ended' }, seq, at);
  room.draining = c.own?.sk ? c : null;
  if (!room.draining) kill(room, c, why, seq, at);
  room.previousCurrent = c;
  room.current = null;
  room.pendingLeavers.clear();
  room.accusations.clear();
  room.rekeyRequested = false;
  if (room.pendingJoiners.some((j) => j.nick === room.nick)) room.ops.sendGenesis(room);
}

export function onRekey(
  room: RoomState,
  session: Session,
  event: { seq: Seq; at: number },
): string {
  if (session !== room.current) return 'not-current-session';
  if (room.blame) return 'ignored: a blame round is open';
  if (limboOnCurrent(room).length > 0) return 'ignored: a session is already in limbo';
  room.rekeyRequested = true;
  reconcile(room, event.seq, event.at, { kind: 'created', detail: 'rekey' });
  return 'accepted';
}

/**
 * A LEAVE signed in the previous session was in flight across a session change: the wish to
 * leave still stands as long as the sender is a member of the current one.
 */
export function onLeave(room: RoomState, session: Session, event: MessageEvent): DropReason {
  if (session !== room.current && session !== room.previousCurrent) {
    return 'not-current-session';
  }
  if (!room.current?.indexByNick.has(event.nick)) return 'ignored: not a member';
  if (room.pendingLeavers.has(event.nick)) return 'ignored: already leaving';
  room.ops.departure(room, event.nick, 'left', event.seq, event.at);
  return 'accepted';
}

export function sendLeave(room: RoomState): void {
  const c = room.current;
  const own = c?.own;
  if (c && own && isMember(room)) {
    send(
      room,
      encodeFrame(room.crypto, 'LEAVE', c.sidBytes, { index: own.index }, own.eph.secretKey),
    );
  }
  room.mode = isMember(room) ? room.mode : 'gone';
}

export function sendRekey(room: RoomState): void {
  const c = room.current;
  const own = c?.own;
  if (!c || !own || !isMember(room)) return;
  send(
    room,
    encodeFrame(room.crypto, 'REKEY', c.sidBytes, { index: own.index }, own.eph.secretKey),
  );
}
