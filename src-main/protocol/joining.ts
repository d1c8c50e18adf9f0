// The joiner's side: join requests, accepting a join request (the admission gate, then the
// pending list), and founding a room alone (PROTOCOL.md rule 5).
import { isBanned } from './accountability';
import { gatherBatch } from './batch';
import type { ParsedFrame } from './codec';
import { decodeBody, encodeFrame, MessageType, verifyFrame } from './codec';
import { confirmation, deriveSid, ringSecret, sessionKey, tripleDh } from './derive';
import { reconcile } from './membership';
import { arm, emitSession, newOwnPart, send, setPhase, warmPairKey } from './room-effects';
import type { Ordered, RoomState } from './room-state';
import { EMPTY } from './room-state';
import { Session } from './session';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import { asSeq, asSid, bytesEqual, toHex } from './types';

export function newJoinEph(room: RoomState): SignKeyPair {
  const eph = room.crypto.signKeyPair();
  room.joinAttempts.set(toHex(eph.publicKey), eph);
  return eph;
}

export function sendJoinRequest(room: RoomState): void {
  const eph = newJoinEph(room);
  const body = {
    nick: room.nick,
    lt: room.identity.publicKey,
    eph: eph.publicKey,
    ...room.ops.requestExtras(room, room.nick, eph.publicKey),
  };
  send(room, encodeFrame(room.crypto, 'JOIN_REQUEST', null, body, eph.secretKey));
  // A knock waits for a member: a retry does not make it "requesting" again.
  if (room.phase !== 'knocking') setPhase(room, 'requesting', 'join request sent');
  arm(room, 'join-retry', room.joinRetryMs);
}

export function onJoinRequest(
  room: RoomState,
  frame: ParsedFrame,
  event: Extract<Ordered, { kind: 'message' }>,
): string {
  const body = decodeBody(frame, 'JOIN_REQUEST');
  if (!body.ok) return body.error;
  if (body.value.nick !== event.nick) return 'sender-mismatch';
  if (!verifyFrame(room.crypto, frame, body.value.eph)) return 'bad-signature';
  if (room.mode !== 'attached') return 'accepted';
  const wasArriving = room.arriving.delete(event.nick);
  // No session yet: nobody could answer, and clients that found or adopt the coming genesis saw
  // different parts of the stream before it (each from its own relay join). A request counts
  // from the genesis on, identically for all; its sender asks again when it sees the genesis.
  if (!room.current) return 'ignored: no session to join yet';
  if (room.current?.indexByNick.has(event.nick) && !room.pendingLeavers.has(event.nick)) {
    return 'ignored: already a member';
  }
  if (room.pendingJoiners.some((j) => j.nick === event.nick)) return 'ignored: duplicate request';
  if (isBanned(room, event.nick, body.value.lt)) return 'ignored: blamed in this room';
  const gate = room.ops.admissionGate(room, body.value, event);
  if (gate !== null) return gate;
  const { lt, eph } = body.value;
  room.pendingJoiners.push({ nick: event.nick, lt, eph, seq: event.seq });
  // The last of the clients arriving together has asked: their batch forms now (rule B1a); a
  // batch formed so is open to requests until a member speaks.
  const batch = (wasArriving || room.batchOpen) && gatherBatch(room, event.nick);
  const detail = batch
    ? `batch join of ${(room.batchJoiners ?? []).join(', ')}`
    : `join of ${event.nick}`;
  reconcile(room, event.seq, event.at, { kind: 'created', detail });
  // Others are still arriving: a batch is likely, and we are waiting anyway (rule B1a).
  if (room.arriving.size > 0) warmPairKey(room, { nick: event.nick, lt, eph });
  return 'accepted';
}

/** Whether one of our JOIN_REQUESTs is among the events buffered before `seq`. */
function requestedBefore(room: RoomState, seq: number): boolean {
  return room.buffer.some(
    (e) =>
      e.kind === 'message' &&
      e.seq < seq &&
      e.nick === room.nick &&
      e.data[1] === MessageType.JOIN_REQUEST,
  );
}

export function attachEmpty(room: RoomState, seq: Seq): void {
  room.mode = 'attached';
  room.lastSeq = Math.max(room.lastSeq, seq);
}

/** Found a one-person room: the genesis confirmation creates it when it comes back ordered. */
export function sendGenesis(room: RoomState): void {
  const eph = newJoinEph(room);
  const self: Participant = { nick: room.nick, lt: room.identity.publicKey, eph: eph.publicKey };
  const sidBytes = deriveSid(room.crypto, null, [self]);
  const own = { nick: room.nick, lt: room.identity, eph };
  const k = tripleDh(room.crypto, own, self);
  const s0 = ringSecret(room.crypto, k, sidBytes);
  const sk = sessionKey(room.crypto, sidBytes, 0, s0, [new Uint8Array(32)]);
  const conf = confirmation(room.crypto, sk, sidBytes, self, EMPTY);
  const next = room.crypto.signKeyPair();
  room.genesisKeys.set(toHex(sidBytes), { eph, sk, next });
  const body = {
    index: 0,
    conf,
    next: next.publicKey,
    genesis: self,
    ...room.ops.genesisExtras(room),
  };
  send(room, encodeFrame(room.crypto, 'SESSION_CONFIRMATION', sidBytes, body, eph.secretKey));
  setPhase(room, 'founding-room', 'no one else is here: founding the room');
}

export function onGenesisConfirmation(
  room: RoomState,
  frame: ParsedFrame,
  event: Extract<Ordered, { kind: 'message' }>,
): string {
  const body = decodeBody(frame, 'SESSION_CONFIRMATION');
  if (!body.ok) return body.error;
  const g = body.value.genesis;
  if (!g) return room.mode === 'attached' ? 'unknown-sid' : 'ignored: not following the room yet';
  if (g.nick !== event.nick) return 'sender-mismatch';
  if (!verifyFrame(room.crypto, frame, g.eph)) return 'bad-signature';
  const participant: Participant = { nick: g.nick as Nick, lt: g.lt, eph: g.eph };
  const sidBytes = deriveSid(room.crypto, null, [participant]);
  if (!bytesEqual(sidBytes, frame.sid!)) return 'sid-mismatch';
  if (room.mode !== 'attached') {
    // Our request was ordered before the room existed, so it counts for nobody: ask again now
    // rather than at the next retry (the request of a joiner only counts after the genesis).
    if (room.mode === 'detached' && requestedBefore(room, event.seq)) sendJoinRequest(room);
    return 'ignored: not following the room yet';
  }
  if (room.current) return 'ignored: room already has a session';
  const sid = asSid(toHex(sidBytes));
  const session = new Session(
    sid,
    sidBytes,
    null,
    'genesis',
    [participant],
    null,
    event.seq,
    event.at,
  );
  session.shares[0] = new Uint8Array(32);
  session.confirmed[0] = body.value.next;
  session.record(
    'in-limbo',
    { kind: 'created', detail: `room founded by ${g.nick}` },
    event.seq,
    event.at,
  );
  const keys = room.genesisKeys.get(toHex(sidBytes));
  if (keys && g.nick === room.nick) {
    session.own = newOwnPart(room, 0, keys.eph, EMPTY);
    session.own.sk = keys.sk;
    session.own.next = keys.next;
  }
  room.sessions.set(sid, session);
  emitSession(room, session, event.seq);
  room.ops.makeCurrent(room, session, event.seq, event.at);
  return 'accepted';
}

/** No conversation answered: adopt what we saw since arriving and found the room. */
export function foundAlone(room: RoomState): void {
  const replay = room.buffer;
  room.buffer = [];
  attachEmpty(room, asSeq(0));
  room.lastSeq = 0;
  for (const e of replay) room.ops.onOrdered(room, e);
  if (!room.current) room.ops.sendGenesis(room);
}
