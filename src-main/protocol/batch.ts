// Batch admission (docs/PROTOCOL.md "Batch admission"): which pending joiners a batch session
// admits, when it forms (rule B1), the one-joiner sessions that wait on it, and what a member
// does when the batch stalls on a silent joiner (rule B4).
import { MessageType } from './codec';
import { contribute, frontJoinSession, maybeConfirm, releaseGather, sendTimeout } from './keying';
import { coveringBatch, limboOnCurrent } from './room-effects';
import type { Ordered, RoomState } from './room-state';
import { ARRIVAL_WINDOW_MS, MAX_ARRIVING, MAX_BATCH } from './room-state';
import type { Nick, Seq } from './types';
import { asSeq, asSid } from './types';

/**
 * The batch keeps the joiners it formed with while they are still pending and not reported
 * silent; with fewer than two left there is no batch (the one-joiner sessions carry on).
 */
export function normalizeBatch(room: RoomState): void {
  const pending = new Set(room.pendingJoiners.map((j) => j.nick));
  for (const n of [...room.unbatchable]) if (!pending.has(n)) room.unbatchable.delete(n);
  if (!room.batchJoiners) return;
  const left = room.batchJoiners.filter((n) => pending.has(n) && !room.unbatchable.has(n));
  room.batchJoiners = left.length >= 2 ? left : null;
  if (!room.batchJoiners) room.batchOpen = false;
}

/**
 * Who a batch forming at this event would admit: the pending joiners not reported silent
 * whose one-joiner session on C has no member's contribution ordered yet (a joiner whose own
 * session is under way keeps it). Null when a batch is already formed or none can form.
 */
export function batchCandidates(room: RoomState): Nick[] | null {
  const c = room.current;
  if (!c || room.batchJoiners || room.blame) return null;
  const live = limboOnCurrent(room).filter((s) => s.kind === 'join');
  const fresh = room.pendingJoiners
    .filter((j) => !room.unbatchable.has(j.nick) && !c.indexByNick.has(j.nick))
    .filter((j) => {
      const s = live.find((x) => x.joiner === j.nick);
      return !s || s.shares.every((z, i) => z === null || i === s.joinerIndex);
    })
    .map((j) => j.nick);
  return fresh.length >= 2 ? fresh.slice(0, MAX_BATCH) : null;
}

/** Confirm the one-joiner sessions whose confirmation waited on a batch no longer covering them. */
export function releaseBatchHolds(room: RoomState, seq: Seq): void {
  for (const s of limboOnCurrent(room)) {
    if (s.kind === 'join' && s.heldForBatch && s.joiner && !coveringBatch(room, s.joiner)) {
      s.heldForBatch = false;
      maybeConfirm(room, s, seq);
    }
  }
}

/** Any ordered frame but a JOIN_REQUEST from a member of the current session (not leaving). */
export function batchTrigger(room: RoomState, event: Ordered): boolean {
  if (room.mode !== 'attached' || event.kind !== 'message') return false;
  const c = room.current;
  if (!c?.indexByNick.has(event.nick) || room.pendingLeavers.has(event.nick)) return false;
  return event.data[1] !== MessageType.JOIN_REQUEST;
}

/**
 * Our batch timer fired before the batch was confirmed: report its silent joiners (members
 * only), so that the batch forms again without them at that ordered event, and let the
 * one-joiner sessions go ahead meanwhile (rule B4). A local decision, like the stall timer.
 */
export function onBatchStall(room: RoomState, sid: string): void {
  const batch = room.sessions.get(asSid(sid));
  if (!batch || batch.kind !== 'batch' || batch.status !== 'in-limbo') return;
  if (batch.parent !== room.current?.sid || batch.stalled) return;
  batch.stalled = true;
  const sharesIn = batch.allShares();
  const silent = batch.joiners.filter((n) => {
    const i = batch.indexByNick.get(n) as number;
    return !batch.shares[i] || (sharesIn && !batch.confirmed[i]);
  });
  for (const n of silent) room.slowJoiners.add(n);
  sendTimeout(room, batch, silent, false, true);
  const seq = asSeq(room.lastSeq);
  releaseBatchHolds(room, seq);
  const front = frontJoinSession(room);
  if (front?.deferred) contribute(room, front, seq);
}

/**
 * Rule B1a: a client that joins the relay room and is neither a member of C nor pending is
 * arriving until its JOIN_REQUEST is ordered, it leaves, or ARRIVAL_WINDOW_MS of relay time pass.
 */
export function noteArrival(room: RoomState, nick: Nick, at: number): void {
  if (room.mode !== 'attached' || !room.current) return;
  if (room.current.indexByNick.has(nick) || room.pendingJoiners.some((j) => j.nick === nick))
    return;
  room.arriving.delete(nick);
  room.arriving.set(nick, at);
  if (room.arriving.size > MAX_ARRIVING)
    room.arriving.delete(room.arriving.keys().next().value as Nick);
}

/** Before each ordered event: forget the clients that arrived too long ago (relay time). */
export function pruneArrivals(room: RoomState, at: number): void {
  for (const [nick, since] of room.arriving) {
    if (at - since >= ARRIVAL_WINDOW_MS) room.arriving.delete(nick);
  }
}

/**
 * Rule B1a: after the last arriving client's request (or departure) the batch of every fresh
 * pending joiner forms at that event, and stays open until a member of C speaks; a request
 * (`requester`) ordered while it is open joins it. Returns whether the batch changed; the
 * caller reconciles.
 */
export function gatherBatch(room: RoomState, requester: Nick | null): boolean {
  if (room.mode !== 'attached') return false;
  if (room.batchOpen && room.batchJoiners) {
    return requester !== null && joinOpenBatch(room, requester);
  }
  if (room.arriving.size > 0) return false;
  const candidates = batchCandidates(room);
  if (!candidates) return false;
  room.batchJoiners = candidates;
  room.batchOpen = true;
  return true;
}

/**
 * A request ordered while the B1a batch is still open (no member of C has spoken since it
 * formed): the joiner joins it, as it would have under B1, whose window closes at the first
 * member frame. Nothing of the batch was ordered from a member yet, so nothing ordered is lost;
 * a member's contribution in flight to the batch as it was is dropped, and every member
 * contributes again to the batch as it is now.
 */
function joinOpenBatch(room: RoomState, nick: Nick): boolean {
  const joiners = room.batchJoiners as Nick[];
  if (room.blame || joiners.includes(nick) || joiners.length >= MAX_BATCH) return false;
  if (!room.pendingJoiners.some((j) => j.nick === nick)) return false;
  if (room.unbatchable.has(nick) || room.current?.indexByNick.has(nick)) return false;
  room.batchJoiners = [...joiners, nick];
  return true;
}

/** Our gather timer fired: stop holding that join session for clients still arriving. */
export function onGatherTimer(room: RoomState, sid: string): void {
  const session = room.sessions.get(asSid(sid));
  if (!session || session.status !== 'in-limbo') return;
  session.gatherDone = true;
  releaseGather(room, asSeq(room.lastSeq));
}
