// Local timers (the host arms them from `arm-timer` effects): join retries, limbo and reveal
// timeouts, stalls, the drain and rekeys. A timer only ever sends messages or limits what this
// client decrypts; only ordered events change session state. After a restart, every timer the
// state calls for is armed again.
import { onRevealTimer } from './accountability';
import { onBatchStall, onGatherTimer } from './batch';
import { foundAlone, sendJoinRequest } from './joining';
import { batchStallMs, contribute, frontJoinSession, gathering, sendTimeout } from './keying';
import { sendRekey } from './membership';
import { arm, isMember, kill, limboOnCurrent } from './room-effects';
import type { RoomState } from './room-state';
import { GATHER_HOLD_MS } from './room-state';
import type { Nick } from './types';
import { asSeq, asSid } from './types';

/** One of our timers fired (its key says which, and for which session). */
export function onTimer(room: RoomState, key: string, at: number): void {
  if (key === 'join-retry') onJoinRetry(room);
  else if (key.startsWith('limbo:')) onLimboTimer(room, key);
  else if (key.startsWith('reveal:')) onRevealTimer(room, key);
  else if (key.startsWith('stall:')) onStallTimer(room, key.slice('stall:'.length));
  else if (key.startsWith('gather:')) onGatherTimer(room, key.slice('gather:'.length));
  else if (key.startsWith('batch-stall:')) onBatchStall(room, key.slice('batch-stall:'.length));
  else if (key.startsWith('drain:')) onDrainTimer(room, key.slice('drain:'.length), at);
  else if (key === 'rekey') onRekeyTimer(room);
}

/** No candidate session came for our request: ask again, or found the room alone (rule 5). */
function onJoinRetry(room: RoomState): void {
  if (room.mode === 'gone' || isMember(room)) return;
  const candidate = [...room.sessions.values()].some(
    (s) => s.status === 'in-limbo' && s.joiner === room.nick,
  );
  if (candidate) {
    arm(room, 'join-retry', room.joinRetryMs);
    return;
  }
  room.joinRetries++;
  if (
    room.mode === 'detached' &&
    !room.sawConversation &&
    room.joinRetries >= room.soloAfterRetries
  ) {
    foundAlone(room);
    return;
  }
  sendJoinRequest(room);
}

/** A session stayed in limbo too long: accuse those whose contribution is missing. */
function onLimboTimer(room: RoomState, key: string): void {
  const session = room.sessions.get(asSid(key.slice('limbo:'.length)));
  if (!session || session.status !== 'in-limbo' || session.parent !== room.current?.sid) return;
  // Missing shares are attributable; missing confirmations are not when the shares did not
  // add up (everyone refused to confirm), so then nobody is accused for them.
  const sharesIn = session.allShares();
  const blameConfirmations = sharesIn && !session.own?.inconsistent;
  const missing = session.participants
    .filter((p) => p.nick !== room.nick)
    .filter((p) => {
      const i = session.indexByNick.get(p.nick) as number;
      return !session.shares[i] || (blameConfirmations && !session.confirmed[i]);
    })
    .map((p) => p.nick);
  sendTimeout(room, session, missing, false);
  arm(room, key, room.limboTimeoutMs);
}

/**
 * The front session is taking long (a slow or silent joiner): contribute to this one too, so
 * that one joiner never holds the others back.
 */
function onStallTimer(room: RoomState, sid: string): void {
  const session = room.sessions.get(asSid(sid));
  if (!session?.deferred || session.status !== 'in-limbo' || session.parent !== room.current?.sid)
    return;
  const front = frontJoinSession(room);
  if (front?.joiner && front !== session) {
    room.slowJoiners.add(front.joiner);
    if (room.slowJoiners.size > 256)
      room.slowJoiners.delete(room.slowJoiners.values().next().value as Nick);
  }
  contribute(room, session, asSeq(room.lastSeq));
  // The new front (the next joiner that is not slow) goes ahead now, not a stall later.
  const next = frontJoinSession(room);
  if (next?.deferred) contribute(room, next, asSeq(room.lastSeq));
}

/** The one local exception: ending the drain only limits what this client can decrypt. */
function onDrainTimer(room: RoomState, sid: string, at: number): void {
  const session = room.sessions.get(asSid(sid));
  if (session && session === room.draining) {
    kill(room, session, { kind: 'draining-ended' }, asSeq(room.lastSeq), at);
    room.draining = null;
  }
}

/** Our keys are old: ask for a rekey unless a session is already being built. */
function onRekeyTimer(room: RoomState): void {
  if (isMember(room) && limboOnCurrent(room).length === 0) sendRekey(room);
  if (room.rekeyIntervalMs > 0) arm(room, 'rekey', room.rekeyIntervalMs);
}

/** After a restart: arm again every timer the restored state calls for. */
export function rearmTimers(room: RoomState): void {
  if (
    !isMember(room) &&
    room.mode !== 'gone' &&
    room.phase !== 'left' &&
    room.phase !== 'refused'
  ) {
    arm(room, 'join-retry', room.joinRetryMs);
  }
  for (const s of limboOnCurrent(room)) {
    if (s.deferred) arm(room, `stall:${s.sid}`, room.stallMs);
    if (s.deferred && gathering(room, s)) arm(room, `gather:${s.sid}`, GATHER_HOLD_MS);
    if (s.kind === 'batch' && s.own && !s.stalled)
      arm(room, `batch-stall:${s.sid}`, batchStallMs(room, s));
    if (s.own && room.current?.indexByNick.has(room.nick))
      arm(room, `limbo:${s.sid}`, room.limboTimeoutMs);
  }
  if (room.draining) arm(room, `drain:${room.draining.sid}`, room.drainMs);
  if (isMember(room) && room.rekeyIntervalMs > 0) arm(room, 'rekey', room.rekeyIntervalMs);
  if (room.blame && isMember(room)) arm(room, `reveal:${room.blame.sid}`, room.limboTimeoutMs);
}
