// Key agreement inside one session: our own contribution when a session is created, the
// participants' shares and tokens, the session key, and confirmations (PROTOCOL.md rule 2); the
// TIMEOUT accusations and complaints it sends when something does not verify.
import type { Body } from './codec';
import { encodeFrame } from './codec';
import { CryptoError } from './crypto';
import { authToken, boundHistory, confirmation, ringSecret, sessionKey, xor } from './derive';
import {
  arm,
  cancel,
  coveringBatch,
  emit,
  isMember,
  limboOnCurrent,
  newOwnPart,
  pairKey,
  send,
  setPhase,
  transcriptHead,
  warn,
} from './room-effects';
import type { RoomState } from './room-state';
import { EMPTY, GATHER_HOLD_MS } from './room-state';
import type { Session } from './session';
import { encodePublicState } from './state-transfer';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import { bytesEqual, fromHex, toHex } from './types';

/**
 * A new session we take part in. Members contribute at once to leave and rekey sessions and
 * to the front join session (the earliest pending joiner's); other join sessions wait until
 * they reach the front or a local stall timer fires (docs/PROTOCOL.md "Lazy contributions").
 * Either way the transcript hash binds the parent as it was when the session was created.
 */
export function startParticipating(room: RoomState, session: Session, seq: Seq): void {
  if (!session.indexByNick.has(room.nick)) return;
  const c = room.current as Session;
  const isJoiner = session.isJoiner(room.nick);
  session.parentTranscript = isJoiner ? EMPTY : parentBinding(room, c);
  if (session.kind === 'join' && frontJoinSession(room) !== session) {
    session.deferred = true;
    arm(room, `stall:${session.sid}`, room.stallMs);
    return;
  }
  if (gathering(room, session)) {
    session.deferred = true;
    arm(room, `gather:${session.sid}`, GATHER_HOLD_MS);
    return;
  }
  contribute(room, session, seq);
}

/**
 * Rule B1a (docs/PROTOCOL.md "Batch admission"): a member holds its contribution to the front
 * join session while other clients that joined the relay room have not sent their request yet
 * (at most GATHER_HOLD_MS, our gather timer), so that joiners arriving together are admitted
 * by one batch without a wasted one-joiner wave. A local choice of when to send.
 */
export function gathering(room: RoomState, session: Session): boolean {
  if (session.kind !== 'join' || session.gatherDone || room.arriving.size === 0) return false;
  return isMember(room) && !session.isJoiner(room.nick);
}

/** After an ordered event or our gather timer: the front goes ahead once nobody is arriving. */
export function releaseGather(room: RoomState, seq: Seq): void {
  const front = frontJoinSession(room);
  if (front?.deferred && !gathering(room, front)) contribute(room, front, seq);
}

/**
 * What our confirmation of a child of `c` binds: the CHAT transcript head and the chain over
 * every ordered event since `c` became current, as of now (the child's creation event).
 */
export function parentBinding(room: RoomState, c: Session): Uint8Array {
  return boundHistory(room.crypto, transcriptHead(room, c), room.history);
}

/** The join session of the earliest pending joiner that has one on the current session. */
export function frontJoinSession(room: RoomState): Session | null {
  // While a batch is live (and has not stalled for us), every joiner waits for a batch: the
  // ones it covers for it, later arrivals for the next one (docs/PROTOCOL.md rule B3).
  if (limboOnCurrent(room).some((s) => s.kind === 'batch' && !s.stalled)) return null;
  const live = limboOnCurrent(room).filter((s) => s.kind === 'join');
  for (const j of room.pendingJoiners) {
    if (room.slowJoiners.has(j.nick)) continue;
    const s = live.find((x) => x.joiner === j.nick);
    if (s) return s;
  }
  return null;
}

/** Compute our share (and tokens) for `session` and send our contribution. */
export function contribute(room: RoomState, session: Session, seq: Seq): void {
  const index = session.indexByNick.get(room.nick);
  if (index === undefined || session.own || session.status !== 'in-limbo') return;
  session.deferred = false;
  cancel(room, `stall:${session.sid}`);
  cancel(room, `gather:${session.sid}`);
  const c = room.current as Session;
  const isJoiner = session.isJoiner(room.nick);
  let eph: SignKeyPair | undefined;
  if (isJoiner) {
    eph = room.joinAttempts.get(toHex((session.participants[index] as Participant).eph));
  } else {
    const cIndex = c.indexByNick.get(room.nick);
    eph = cIndex === undefined ? undefined : (c.own?.next ?? undefined);
  }
  if (!eph || !bytesEqual(eph.publicKey, (session.participants[index] as Participant).eph)) {
    return; // not ours to take part in (e.g. an attempt we no longer hold keys for)
  }
  const parentTranscript = session.parentTranscript ?? (isJoiner ? EMPTY : parentBinding(room, c));
  const own = newOwnPart(room, index, eph, parentTranscript);
  session.own = own;
  const n = session.participants.length;
  try {
    const right = pairKey(room, session, (index + 1) % n);
    const left = pairKey(room, session, (index - 1 + n) % n);
    const sRight = ringSecret(room.crypto, right, session.sidBytes);
    const sLeft = ringSecret(room.crypto, left, session.sidBytes);
    own.ringSecret = sRight;
    const z = xor(sRight, sLeft);
    sendContribution(room, session, index, eph, z, seq);
    if (c.indexByNick.has(room.nick) && !isJoiner) {
      arm(room, `limbo:${session.sid}`, room.limboTimeoutMs);
    }
    if (session.kind === 'batch')
      arm(room, `batch-stall:${session.sid}`, batchStallMs(room, session));
    // The joiners' tokens may have arrived while our contribution waited.
    const joinerIndex = session.joinerIndex;
    if (!isJoiner && session.joinerKcs && joinerIndex >= 0) {
      checkJoinerToken(room, session, joinerIndex, session.joinerKcs, seq);
      afterProgress(room, session, seq);
    }
    if (!isJoiner && session.batchKcs.size > 0) {
      for (const [j, kcs] of session.batchKcs) checkJoinerToken(room, session, j, kcs, seq);
      afterProgress(room, session, seq);
    }
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    warn(
      room,
      'dropped-invalid-message',
      `cannot key session ${session.sid.slice(0, 12)}: ${error.message}`,
      seq,
    );
  }
}

/** Our contribution to `session` by its kind: its share z, with our tokens where it has joiners. */
function sendContribution(
  room: RoomState,
  session: Session,
  index: number,
  eph: SignKeyPair,
  z: Uint8Array,
  seq: Seq,
): void {
  if (session.kind === 'join' || session.kind === 'batch') {
    if (session.isJoinerIndex(index)) sendJoinerAuth(room, session, index, eph, z);
    else sendParticipantsInfo(room, session, index, eph, z, seq);
    return;
  }
  const body = { index, parent: (room.current as Session).sidBytes, z };
  send(room, encodeFrame(room.crypto, 'GROUP_SHARE', session.sidBytes, body, eph.secretKey));
}

/** Our token to the participant at `i`: H("auth", k, sid, U_i). */
function tokenTo(room: RoomState, session: Session, i: number): Uint8Array {
  const to = session.participants[i] as Participant;
  return authToken(room.crypto, pairKey(room, session, i), session.sidBytes, to);
}

/**
 * A joiner's JOINER_AUTH: a token to every member and none to the other joiners of a batch: the
 * members vouch for each joiner by confirming only once its token verified (docs/PROTOCOL.md
 * "Batch admission").
 */
function sendJoinerAuth(
  room: RoomState,
  session: Session,
  index: number,
  eph: SignKeyPair,
  z: Uint8Array,
): void {
  const kcs = session.participants.map((_, i) =>
    i === index || session.isJoinerIndex(i) ? null : tokenTo(room, session, i),
  );
  const body: Body<'JOINER_AUTH'> = { index, kcs, z };
  send(room, encodeFrame(room.crypto, 'JOINER_AUTH', session.sidBytes, body, eph.secretKey));
  setPhase(room, 'authenticating', `candidate session ${session.sid.slice(0, 12)}`);
}

/**
 * A member's PARTICIPANTS_INFO: its token to the joiner (`kc`), or to every joiner of a batch
 * (`kcs`); the sponsor's (the first member in the session's order) also carries the room state.
 */
function sendParticipantsInfo(
  room: RoomState,
  session: Session,
  index: number,
  eph: SignKeyPair,
  z: Uint8Array,
  seq: Seq,
): void {
  const parent = (room.current as Session).sidBytes;
  const body: Body<'PARTICIPANTS_INFO'> =
    session.kind === 'batch'
      ? {
          index,
          parent,
          kcs: session.participants.map((_, i) =>
            session.isJoinerIndex(i) ? tokenTo(room, session, i) : null,
          ),
          z,
        }
      : { index, parent, kc: tokenTo(room, session, session.joinerIndex), z };
  const sponsor = session.participants.findIndex((_, i) => !session.isJoinerIndex(i));
  if (sponsor === index) body.state = encodePublicState(room.ops.exportState(room, seq));
  send(room, encodeFrame(room.crypto, 'PARTICIPANTS_INFO', session.sidBytes, body, eph.secretKey));
}

export function onContribution(
  room: RoomState,
  session: Session,
  index: number,
  z: Uint8Array,
  event: { seq: Seq; at: number },
  extra: { kc?: Uint8Array; kcs?: readonly (Uint8Array | null)[]; parent: Uint8Array },
): string {
  if (session.status !== 'in-limbo' || session.kind === 'genesis') return 'ignored: not in limbo';
  if (!session.parent || !bytesEqual(extra.parent, fromHex(session.parent))) return 'wrong-parent';
  if ((extra.kc !== undefined) !== (session.kind === 'join')) return 'wrong-message-for-session';
  if ((extra.kcs !== undefined) !== (session.kind === 'batch')) return 'wrong-message-for-session';
  if (session.isJoinerIndex(index)) return 'wrong-message-for-session';
  // A batch's PARTICIPANTS_INFO holds a token for every joiner and for no member.
  if (
    extra.kcs &&
    (extra.kcs.length !== session.participants.length ||
      extra.kcs.some((k, i) => (k !== null) !== session.isJoinerIndex(i)))
  )
    return 'body-schema';
  if (session.shares[index]) return 'duplicate-contribution';
  session.shares[index] = z;
  if (extra.kc) session.memberKcs[index] = extra.kc;
  if (extra.kcs) session.batchMkcs.set(index, extra.kcs);
  if (sharesFailed(room, session, event)) return 'accepted';
  // Members are working on this session: if we are waiting to contribute, wait no longer.
  if (session.deferred) contribute(room, session, event.seq);
  const own = session.own;
  const kcToUs = own ? (extra.kc ?? extra.kcs?.[own.index] ?? null) : null;
  if (own && session.isJoinerIndex(own.index) && (extra.kc || extra.kcs)) {
    try {
      if (tokenVerifies(room, session, index, kcToUs)) own.tokensOk.add(index);
      else {
        const who = (session.participants[index] as Participant).nick;
        warn(room, 'bad-member-token', `token from ${who} does not verify`, event.seq);
        sendComplaint(room, session, who);
      }
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
    }
  }
  afterProgress(room, session, event.seq);
  return 'accepted';
}

export function onJoinerAuth(
  room: RoomState,
  session: Session,
  index: number,
  body: Body<'JOINER_AUTH'>,
  event: { seq: Seq; at: number },
): string {
  if (session.status !== 'in-limbo' || (session.kind !== 'join' && session.kind !== 'batch'))
    return 'ignored: not in limbo';
  if (!session.isJoinerIndex(index)) return 'wrong-message-for-session';
  if (body.kcs.length !== session.participants.length) return 'body-schema';
  if (session.shares[index]) return 'duplicate-contribution';
  session.shares[index] = body.z;
  if (session.kind === 'batch') session.batchKcs.set(index, body.kcs);
  else session.joinerKcs = body.kcs;
  if (sharesFailed(room, session, event)) return 'accepted';
  if (session.own && !session.isJoinerIndex(session.own.index))
    checkJoinerToken(room, session, index, body.kcs, event.seq);
  afterProgress(room, session, event.seq);
  return 'accepted';
}

/**
 * Whether `kc` is the token participant `from` owes us in this session: both sides compute it
 * from their triple-DH key (the expected value is computed even without a token, so a key that
 * cannot be converted throws CryptoError either way).
 */
function tokenVerifies(
  room: RoomState,
  session: Session,
  from: number,
  kc: Uint8Array | null | undefined,
): boolean {
  const own = session.own as NonNullable<Session['own']>;
  const expected = authToken(
    room.crypto,
    pairKey(room, session, from),
    session.sidBytes,
    session.participants[own.index] as Participant,
  );
  return kc !== null && kc !== undefined && room.crypto.constantTimeEqual(expected, kc);
}

/** Check the joiner's token addressed to us; a bad one is vetoed (docs/PROTOCOL.md). */
export function checkJoinerToken(
  room: RoomState,
  session: Session,
  joinerIndex: number,
  kcs: readonly (Uint8Array | null)[],
  seq: Seq,
): void {
  const own = session.own;
  if (!own || joinerIndex < 0 || own.tokensOk.has(joinerIndex)) return;
  const joiner = (session.participants[joinerIndex] as Participant).nick;
  const kc = kcs[own.index];
  if (kc && tokenVerifies(room, session, joinerIndex, kc)) own.tokensOk.add(joinerIndex);
  else {
    warn(room, 'bad-joiner-token', `joiner ${joiner} sent us a token that does not verify`, seq);
    sendTimeout(room, session, [joiner], true);
  }
}

/**
 * The shares of a session are public, and they telescope around the ring: once all are in,
 * anyone can see whether they add up to zero. When they do not, every client opens the same
 * blame round at this same event (docs/PROTOCOL.md "Accountability", rule 2).
 */
export function sharesFailed(
  room: RoomState,
  session: Session,
  event: { seq: Seq; at: number },
): boolean {
  if (!session.allShares()) return false;
  const shares = session.shares as Uint8Array[];
  if (shares.some((z) => z.length !== 32)) return false; // not known to this observer
  const sum = shares.reduce((acc, z) => xor(acc, z), new Uint8Array(32));
  if (sum.every((b) => b === 0)) return false;
  if (session.own) session.own.inconsistent = true;
  warn(
    room,
    'inconsistent-shares',
    `shares of ${session.sid.slice(0, 12)} do not add up`,
    event.seq,
  );
  room.ops.openBlame(room, session, 'inconsistent-shares', null, event.seq, event.at);
  return true;
}

/** The joiner's veto of a member whose token to it does not verify (signed in the session). */
export function sendComplaint(room: RoomState, session: Session, member: Nick): void {
  const own = session.own;
  if (!own || !session.isJoinerIndex(own.index)) return;
  const body: Body<'TIMEOUT'> = {
    index: own.index,
    stalled: session.sidBytes,
    accused: [member],
    veto: true,
  };
  send(room, encodeFrame(room.crypto, 'TIMEOUT', session.sidBytes, body, own.eph.secretKey));
}

export function afterProgress(room: RoomState, session: Session, seq: Seq): void {
  emit(room, { type: 'progress', progress: session.progress(), seq });
  noteBatchProgress(room, session);
  maybeConfirm(room, session, seq);
}

/**
 * A batch stalls when nothing new arrives for it during the stall time (rule B4), not when it
 * is merely slow: every share or confirmation we take part in restarts our stall timer, so a
 * big batch on a busy machine is not abandoned while it still moves.
 */
export function noteBatchProgress(room: RoomState, session: Session): void {
  if (session.kind !== 'batch' || !session.own || session.stalled) return;
  if (session.status !== 'in-limbo') return;
  arm(room, `batch-stall:${session.sid}`, batchStallMs(room, session));
}

/**
 * The stall time of a batch grows with it: every participant handles about two frames per
 * participant in a round, so a healthy batch of 70 needs longer than one of 7 (rule B4).
 */
export function batchStallMs(room: RoomState, session: Session): number {
  return room.stallMs * Math.max(1, Math.ceil(session.participants.length / 20));
}

/**
 * Confirm once every share is in and every token to us verified. A one-joiner session whose
 * joiner a live batch covers waits (a local choice of when to send, like the stall timer):
 * the batch goes first, and this session is the fallback if the batch stalls or dies.
 */
export function maybeConfirm(room: RoomState, session: Session, seq: Seq): void {
  const own = session.own;
  if (!own || own.sk || session.status !== 'in-limbo' || !session.allShares()) return;
  if (own.tokensOk.size < session.tokensNeeded(own.index)) return;
  if (session.kind === 'join' && session.joiner && coveringBatch(room, session.joiner)) {
    session.heldForBatch = true;
    return;
  }
  // The shares telescope around the ring: their XOR is zero unless someone lied about z.
  // Confirming would agree on nothing, so we refuse and say so (docs/PROTOCOL.md, blame).
  const sum = (session.shares as Uint8Array[]).reduce((acc, z) => xor(acc, z), new Uint8Array(32));
  if (sum.some((b) => b !== 0)) {
    if (!own.inconsistent) {
      own.inconsistent = true;
      warn(room, 'inconsistent-shares', `shares of ${session.sid.slice(0, 12)} do not add up`, seq);
    }
    return;
  }
  own.sk = sessionKey(
    room.crypto,
    session.sidBytes,
    own.index,
    own.ringSecret,
    session.shares as Uint8Array[],
  );
  const conf = confirmation(
    room.crypto,
    own.sk,
    session.sidBytes,
    session.participants[own.index] as Participant,
    own.parentTranscript,
  );
  own.next = room.crypto.signKeyPair();
  const body = { index: own.index, conf, next: own.next.publicKey };
  send(
    room,
    encodeFrame(room.crypto, 'SESSION_CONFIRMATION', session.sidBytes, body, own.eph.secretKey),
  );
}

export function onConfirmation(
  room: RoomState,
  session: Session,
  index: number,
  body: Body<'SESSION_CONFIRMATION'>,
  event: { seq: Seq; at: number },
): string {
  if (body.genesis) return 'wrong-message-for-session';
  if (session.status !== 'in-limbo') return 'ignored: not in limbo';
  if (session.confirmed[index]) return 'duplicate-confirmation';
  session.confirmed[index] = body.next;
  const own = session.own;
  if (own?.sk && index !== own.index) {
    const who = session.participants[index] as Participant;
    const senderJoiner = session.isJoinerIndex(index);
    const transcript =
      senderJoiner || session.isJoinerIndex(own.index) ? null : own.parentTranscript;
    if (transcript !== null) {
      const expected = confirmation(room.crypto, own.sk, session.sidBytes, who, transcript);
      if (!room.crypto.constantTimeEqual(expected, body.conf)) {
        warn(
          room,
          'key-mismatch',
          `${who.nick} confirmed a different key or transcript`,
          event.seq,
        );
        own.mismatched.add(who.nick);
        sendTimeout(room, session, [who.nick], false);
      }
    } else if (senderJoiner) {
      const expected = confirmation(room.crypto, own.sk, session.sidBytes, who, EMPTY);
      if (!room.crypto.constantTimeEqual(expected, body.conf)) {
        warn(room, 'key-mismatch', `joiner ${who.nick} confirmed a different key`, event.seq);
        own.mismatched.add(who.nick);
      }
    }
  }
  emit(room, { type: 'progress', progress: session.progress(), seq: event.seq });
  noteBatchProgress(room, session);
  if (session.allConfirmed() && session.parent === room.current?.sid) {
    room.ops.makeCurrent(room, session, event.seq, event.at);
  }
  return 'accepted';
}

export function sendTimeout(
  room: RoomState,
  stalled: { sidBytes: Uint8Array },
  accused: Nick[],
  veto: boolean,
  slow = false,
): void {
  const c = room.current;
  const own = c?.own;
  if (!c || !own || !c.indexByNick.has(room.nick) || accused.length === 0) return;
  const body: Body<'TIMEOUT'> = { index: own.index, stalled: stalled.sidBytes, accused };
  if (veto) body.veto = true;
  if (slow) body.slow = true;
  send(room, encodeFrame(room.crypto, 'TIMEOUT', c.sidBytes, body, own.eph.secretKey));
}
