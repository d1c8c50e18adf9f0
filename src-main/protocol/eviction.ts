// TIMEOUT, once its dispatch.ts row's checks passed: accusations, evictions by a majority
// (PROTOCOL.md rule 6), joiners dropped, a batch's stall reports, and the vetoes and complaints
// that accountability.ts settles.
import { onComplaint, onVeto, revealerGone } from './accountability';
import { blameSentence } from './blame-text';
import type { Body } from './codec';
import { reconcile } from './membership';
import { emit, warn } from './room-effects';
import type { BlameRound, MessageEvent, RoomState } from './room-state';
import { isRoundJoiner } from './room-state';
import type { Session } from './session';
import type { Nick } from './types';
import { asSid, bytesEqual, toHex } from './types';

export function onTimeout(
  room: RoomState,
  session: Session,
  body: Body<'TIMEOUT'>,
  event: MessageEvent,
): string {
  const c = room.current;
  if (session !== c && body.veto === true && session.isJoiner(event.nick)) {
    return onComplaint(room, session, body.accused as Nick[], event);
  }
  if (session !== c) return 'not-current-session';
  if (room.pendingLeavers.has(event.nick)) return 'ignored: accuser is leaving';
  const round = room.blame;
  const forRound = round !== null && bytesEqual(body.stalled, round.sidBytes);
  const stalled = room.sessions.get(asSid(toHex(body.stalled)));
  // Accusations name a session in limbo on C, the open blame round, or C itself (a
  // confirmation that disagreed with the accuser's key or transcript, sent once C won).
  const aboutCurrent = stalled === c && body.veto !== true;
  if (
    !forRound &&
    !aboutCurrent &&
    (!stalled || stalled.parent !== c.sid || stalled.status !== 'in-limbo')
  )
    return 'ignored: stale timeout';
  if (body.slow === true) return onStallReport(room, stalled, body, event);
  if (body.veto === true) {
    if (forRound || !stalled) return 'ignored: a blame round is open';
    return onVeto(room, stalled, body.accused as Nick[], event);
  }
  for (const accused of body.accused as Nick[]) {
    if (accused === event.nick) continue;
    accuse(room, c, accused, stalled, forRound ? round : null, event);
  }
  return 'accepted';
}

/** A member's report that a batch stalls on silent joiners: they go by one-joiner sessions. */
function onStallReport(
  room: RoomState,
  stalled: Session | undefined,
  body: Body<'TIMEOUT'>,
  event: MessageEvent,
): string {
  const c = room.current;
  if (body.veto === true || !stalled || stalled.kind !== 'batch' || stalled === c)
    return 'ignored: a stall report names a batch session';
  const silent = (body.accused as Nick[]).filter(
    (n) => stalled.isJoiner(n) && room.pendingJoiners.some((j) => j.nick === n),
  );
  if (silent.length === 0) return 'ignored: names no joiner of the batch';
  for (const n of silent) room.unbatchable.add(n);
  reconcile(room, event.seq, event.at, {
    kind: 'obsolete',
    detail: `batch stalled on ${silent.join(', ')}`,
  });
  return 'accepted';
}

/**
 * One accusation by the sender: a member of C accused by a majority of the others is evicted;
 * a round's joiner that never revealed, or a pending joiner, by a majority of all is dropped.
 * `round` is the open blame round when the accusation is about it, else null.
 */
function accuse(
  room: RoomState,
  c: Session,
  accused: Nick,
  stalled: Session | undefined,
  round: BlameRound | null,
  event: MessageEvent,
): void {
  const set = room.accusations.get(accused) ?? new Set<Nick>();
  set.add(event.nick);
  room.accusations.set(accused, set);
  const members = c.participants.length;
  if (c.indexByNick.has(accused)) {
    if (set.size * 2 > members - 1) evict(room, c, accused, set, stalled, event);
  } else if (round && isRoundJoiner(round, accused) && !round.revealed.has(accused)) {
    // The joiner of a failed session never revealed: it is the one that stalls the round.
    if (set.size * 2 > members) revealerGone(room, accused, event.seq, event.at);
  } else if (room.pendingJoiners.some((j) => j.nick === accused)) {
    if (set.size * 2 > members) {
      warn(room, 'eviction', `joiner ${accused} dropped (timeout)`, event.seq);
      room.pendingJoiners = room.pendingJoiners.filter((j) => j.nick !== accused);
      reconcile(room, event.seq, event.at, { kind: 'joiner-dropped', nick: accused });
    }
  }
}

/** PROTOCOL.md rule 6: a majority of the other members reported `accused`: it is evicted. */
function evict(
  room: RoomState,
  c: Session,
  accused: Nick,
  by: Set<Nick>,
  stalled: Session | undefined,
  event: MessageEvent,
): void {
  warn(room, 'eviction', `${accused} evicted after timeouts by ${[...by].join(', ')}`, event.seq);
  emit(room, {
    type: 'blame',
    nick: accused,
    cause: 'reported-by-majority',
    message: blameSentence(accused, 'reported-by-majority', { joiner: null, vetoer: null }, true),
    sid: stalled?.sid ?? c.sid,
    seq: event.seq,
    removed: true,
  });
  room.ops.departure(room, accused, 'evicted', event.seq, event.at);
}
