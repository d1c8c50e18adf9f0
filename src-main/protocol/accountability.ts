// Accountability (docs/PROTOCOL.md "Accountability"): blame rounds on a failed session, the
// reveals they wait for, the verdict recomputed from public data, and who is removed.
import { blameSentence } from './blame-text';
import type { Body, ParsedFrame } from './codec';
import { decodeBody, encodeFrame, verifyFrame } from './codec';
import { CryptoError } from './crypto';
import { authToken, ringSecret, tripleDhFromEphemerals, xor } from './derive';
import type { BlameCause, BlameRoundCause } from './events';
import { sendTimeout } from './keying';
import { reconcile, releaseHeld } from './membership';
import {
  arm,
  cancel,
  clearPairKeyCache,
  emit,
  isMember,
  kill,
  limboOnCurrent,
  send,
  warn,
} from './room-effects';
import type { BlameRound, MessageEvent, RoomState } from './room-state';
import { isRoundJoiner } from './room-state';
import type { Session } from './session';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import { bytesEqual, toHex } from './types';

/** Rule 2 and 3: a failed session's participants must reveal; nothing is built meanwhile. */
export function openBlame(
  room: RoomState,
  session: Session,
  cause: BlameRoundCause,
  vetoer: Nick | null,
  seq: Seq,
  at: number,
  accused: Nick | null = session.joiner,
): void {
  const c = room.current;
  if (!c || room.blame) return;
  const need =
    cause === 'inconsistent-shares' ? [...session.members] : [vetoer as Nick, accused as Nick];
  const round = newRound(session, cause, vetoer, accused, seq, need);
  room.blame = round;
  for (const n of need) if (c.indexByNick.has(n) && !session.isJoiner(n)) room.burned.add(n);
  const why = { kind: 'obsolete' as const, detail: `blame round on ${session.sid.slice(0, 12)}` };
  for (const s of limboOnCurrent(room)) kill(room, s, why, seq, at);
  // A revealing joiner's join key is about to be public: this attempt is over (an honest
  // joiner asks again at once, with a fresh key). A batch's other joiners stay pending.
  room.pendingJoiners = room.pendingJoiners.filter(
    (j) => !(session.isJoiner(j.nick) && need.includes(j.nick)),
  );
  clearPairKeyCache(room);
  const text =
    cause === 'inconsistent-shares'
      ? `the key contributions did not add up: ${need.join(', ')} reveal their keys for the failed session`
      : `${vetoer} says ${accused}'s token does not verify: both reveal their keys for the failed session`;
  warn(room, 'blame-round', text, seq);
  emit(room, { type: 'blame-round', sid: session.sid, cause, need, seq });
  if (need.includes(room.nick)) sendReveal(room, round, session);
  if (isMember(room)) arm(room, `reveal:${session.sid}`, room.limboTimeoutMs);
}

/** Reveal our ephemeral secret of the failed session (members: and replace our next key). */
export function sendReveal(room: RoomState, round: BlameRound, session: Session): void {
  const index = session.indexByNick.get(room.nick);
  if (index === undefined) return;
  const eph = (session.participants[index] as Participant).eph;
  const c = room.current;
  if (session.isJoiner(room.nick)) {
    const attempt = room.joinAttempts.get(toHex(eph));
    if (!attempt) return;
    const body: Body<'REVEAL'> = { index, secret: attempt.secretKey.slice(0, 32) };
    send(room, encodeFrame(room.crypto, 'REVEAL', round.sidBytes, body, attempt.secretKey));
    room.joinAttempts.delete(toHex(eph));
    room.ops.sendJoinRequest(room);
    return;
  }
  const own = c?.own;
  const cIndex = c?.indexByNick.get(room.nick);
  if (!c || !own?.next || cIndex === undefined || !bytesEqual(own.next.publicKey, eph)) return;
  const old = own.next;
  own.next = room.crypto.signKeyPair();
  const body: Body<'REVEAL'> = {
    index: cIndex,
    secret: old.secretKey.slice(0, 32),
    session: round.sidBytes,
    next: own.next.publicKey,
  };
  send(room, encodeFrame(room.crypto, 'REVEAL', c.sidBytes, body, own.eph.secretKey));
}

/** A REVEAL: checked against the round, the sender's key in the failed session, and stored. */
export function onReveal(room: RoomState, frame: ParsedFrame, event: MessageEvent): string {
  if (room.mode !== 'attached') return 'ignored: not following the room yet';
  const round = room.blame;
  const c = room.current;
  if (!round || !c) return 'ignored: no blame round';
  const fromJoiner = bytesEqual(frame.sid as Uint8Array, round.sidBytes);
  if (!fromJoiner && !bytesEqual(frame.sid as Uint8Array, c.sidBytes)) {
    return 'ignored: stale reveal';
  }
  const sIndex = round.participants.findIndex((p) => p.nick === event.nick);
  if (sIndex < 0 || !round.need.includes(event.nick)) return 'sender-not-participant';
  const cIndex = c.indexByNick.get(event.nick);
  if (fromJoiner !== isRoundJoiner(round, event.nick)) return 'wrong-message-for-session';
  const signer = fromJoiner
    ? (round.participants[sIndex] as Participant).eph
    : cIndex === undefined
      ? null
      : (c.participants[cIndex] as Participant).eph;
  if (!signer) return 'sender-not-participant';
  const verified = verifyFrame(room.crypto, frame, signer);
  if (!verified) return 'bad-signature';
  const body = decodeBody(verified, 'REVEAL');
  if (!body.ok) return body.error;
  const b = body.value;
  if (b.index !== (fromJoiner ? sIndex : cIndex)) return 'sender-index-mismatch';
  if (!fromJoiner && (!b.session || !bytesEqual(b.session, round.sidBytes) || !b.next)) {
    return 'body-schema';
  }
  if (round.revealed.has(event.nick)) return 'duplicate-contribution';
  const keys = room.crypto.signKeyPairFromSeed(b.secret);
  if (!bytesEqual(keys.publicKey, (round.participants[sIndex] as Participant).eph)) {
    // A signed reveal of a key that is not the sender's: provably false.
    conclude(room, round, [{ nick: event.nick, cause: 'bad-reveal' }], event.seq, event.at);
    return 'accepted';
  }
  round.revealed.set(event.nick, b.secret);
  if (!fromJoiner && cIndex !== undefined && b.next) {
    c.confirmed[cIndex] = b.next;
    room.burned.delete(event.nick);
  }
  maybeConclude(room, round, event.seq, event.at);
  return 'accepted';
}

/** A participant that had to reveal left, was evicted, or (a joiner) stayed silent. */
export function revealerGone(room: RoomState, nick: Nick, seq: Seq, at: number): void {
  const round = room.blame;
  if (!round || round.revealed.has(nick)) return;
  const silentJoiner = isRoundJoiner(round, nick);
  round.need = round.need.filter((n) => n !== nick);
  if (silentJoiner) {
    conclude(room, round, [{ nick, cause: 'no-reveal' }], seq, at);
    return;
  }
  maybeConclude(room, round, seq, at);
}

export function maybeConclude(room: RoomState, round: BlameRound, seq: Seq, at: number): void {
  if (!round.need.every((n) => round.revealed.has(n))) return;
  const complete = round.participants.every(
    (p) =>
      round.revealed.has(p.nick) ||
      (round.cause !== 'inconsistent-shares' &&
        p.nick !== round.vetoer &&
        p.nick !== round.accused),
  );
  conclude(room, round, complete ? verdict(room, round) : [], seq, at);
}

/** Who cheated, recomputed from public data and the revealed secrets (rule 3). */
export function verdict(room: RoomState, round: BlameRound): { nick: Nick; cause: BlameCause }[] {
  const keysOf = (p: Participant) => ({
    nick: p.nick,
    lt: p.lt,
    eph: room.crypto.signKeyPairFromSeed(round.revealed.get(p.nick) as Uint8Array) as SignKeyPair,
  });
  try {
    if (round.cause !== 'inconsistent-shares') {
      // The claimant says the accused's token to it does not verify: recompute that token.
      const v = round.participants.find((p) => p.nick === round.vetoer) as Participant;
      const a = round.participants.find((p) => p.nick === round.accused) as Participant;
      const k = tripleDhFromEphemerals(room.crypto, keysOf(v), keysOf(a));
      const expected = authToken(room.crypto, k, round.sidBytes, v);
      const veto = round.cause === 'veto';
      const sent = veto
        ? round.joinerKcs?.[round.participants.indexOf(v)]
        : round.memberKcs[round.participants.indexOf(a)];
      const tokenOk = !!sent && room.crypto.constantTimeEqual(expected, sent);
      if (tokenOk) return [{ nick: v.nick, cause: veto ? 'false-veto' : 'false-complaint' }];
      return [{ nick: a.nick, cause: veto ? 'bad-joiner-token' : 'bad-member-token' }];
    }
    const n = round.participants.length;
    const keys = round.participants.map(keysOf);
    const secrets = keys.map((a, i) =>
      ringSecret(
        room.crypto,
        tripleDhFromEphemerals(room.crypto, a, keys[(i + 1) % n] as (typeof keys)[0]),
        round.sidBytes,
      ),
    );
    const cheaters: { nick: Nick; cause: BlameCause }[] = [];
    round.participants.forEach((p, i) => {
      const z = xor(secrets[i] as Uint8Array, secrets[(i - 1 + n) % n] as Uint8Array);
      if (!bytesEqual(z, round.shares[i] as Uint8Array)) {
        cheaters.push({ nick: p.nick, cause: 'wrong-share' });
      }
    });
    return cheaters;
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    return []; // a low-order key in a public list: nobody can be blamed from it
  }
}

/** Close the round, remove whoever was proven to cheat, and build the sessions again. */
export function conclude(
  room: RoomState,
  round: BlameRound,
  cheaters: { nick: Nick; cause: BlameCause }[],
  seq: Seq,
  at: number,
): void {
  if (room.blame !== round) return;
  room.blame = null;
  cancel(room, `reveal:${round.sid}`);
  for (const n of round.need) if (!round.revealed.has(n)) room.burned.delete(n);
  if (cheaters.length === 0) {
    warn(
      room,
      'blame-round',
      `blame round on ${round.sid.slice(0, 12)} ended: nobody could be blamed`,
      seq,
    );
  }
  for (const x of cheaters) blameParticipant(room, round, x.nick, x.cause, seq, at);
  reconcile(room, seq, at, { kind: 'created', detail: 'after a blame round' });
  releaseHeld(room, seq);
}

export function blameParticipant(
  room: RoomState,
  round: BlameRound,
  nick: Nick,
  cause: BlameCause,
  seq: Seq,
  at: number,
): void {
  const p = round.participants.find((x) => x.nick === nick);
  if (p && !room.banned.some((b) => b.nick === nick || bytesEqual(b.lt, p.lt))) {
    room.banned.push({ nick, lt: p.lt });
  }
  const member = room.current?.indexByNick.has(nick) === true;
  const message = blameSentence(nick, cause, round, member);
  warn(room, 'blame', message, seq);
  emit(room, { type: 'blame', nick, cause, message, sid: round.sid, seq, removed: true });
  room.pendingJoiners = room.pendingJoiners.filter((j) => j.nick !== nick);
  if (member) room.ops.departure(room, nick, 'blamed', seq, at);
}

/** A joiner, or the lt of a former cheater, refused for the life of the room. */
export function isBanned(room: RoomState, nick: Nick, lt: Uint8Array): boolean {
  return room.banned.some((b) => b.nick === nick || bytesEqual(b.lt, lt));
}

/**
 * A veto (TIMEOUT with veto) names the joiner of `stalled`. Before the joiner's tokens were
 * ordered there is nothing it could be about: the vetoer is blamed at once. Otherwise the
 * vetoer and the joiner reveal, and the token decides (rule 3).
 */
export function onVeto(
  room: RoomState,
  stalled: Session,
  accused: Nick[],
  event: MessageEvent,
): string {
  const joiner = accused[0];
  if (
    (stalled.kind !== 'join' && stalled.kind !== 'batch') ||
    accused.length !== 1 ||
    !joiner ||
    !stalled.isJoiner(joiner)
  ) {
    return 'ignored: a veto names the joiner of a join session';
  }
  if (!stalled.indexByNick.has(event.nick)) return 'sender-not-participant';
  const ji = stalled.indexByNick.get(joiner) as number;
  const tokens = stalled.kind === 'batch' ? stalled.batchKcs.get(ji) : stalled.joinerKcs;
  return settleTokenDispute(room, stalled, 'veto', joiner, Boolean(tokens), event);
}

/**
 * A veto or a complaint about tokens of which none was ordered is false, and its sender is
 * blamed at once; otherwise the blame round that judges those tokens opens.
 */
function settleTokenDispute(
  room: RoomState,
  session: Session,
  cause: 'veto' | 'complaint',
  accused: Nick,
  tokensOrdered: boolean,
  event: MessageEvent,
): string {
  if (!tokensOrdered) {
    const round = newRound(session, cause, event.nick, accused, event.seq, []);
    const falseCause = cause === 'veto' ? 'false-veto' : 'false-complaint';
    blameParticipant(room, round, event.nick, falseCause, event.seq, event.at);
    return 'accepted';
  }
  openBlame(room, session, cause, event.nick, event.seq, event.at, accused);
  return 'accepted';
}

/**
 * The joiner's complaint (a TIMEOUT with veto, signed in its own join session) that a member's
 * token to it does not verify: the mirror of a veto, settled by the same reveal.
 */
export function onComplaint(
  room: RoomState,
  session: Session,
  accused: Nick[],
  event: MessageEvent,
): string {
  const member = accused[0];
  if (accused.length !== 1 || !member || session.isJoiner(member)) {
    return 'ignored: a complaint names one member';
  }
  if (!session.indexByNick.has(member)) return 'ignored: not a participant';
  if (session.status !== 'in-limbo' || session.parent !== room.current?.sid) {
    return 'ignored: stale timeout';
  }
  if (room.blame) return 'ignored: a blame round is open';
  const mi = session.indexByNick.get(member) as number;
  // No token from that member ordered: nothing the complaint could be about.
  const ordered =
    session.kind === 'batch' ? session.batchMkcs.has(mi) : session.memberKcs[mi] !== null;
  return settleTokenDispute(room, session, 'complaint', member, ordered, event);
}

/** The reveal timer: accuse, in the current session, those who have not revealed. */
export function onRevealTimer(room: RoomState, key: string): void {
  const round = room.blame;
  if (!round || key !== `reveal:${round.sid}` || !isMember(room)) return;
  const missing = round.need.filter((n) => !round.revealed.has(n) && n !== room.nick);
  sendTimeout(room, round, missing, false);
  arm(room, key, room.limboTimeoutMs);
}

/** What a blame round keeps of the failed session: all of it public. */
function newRound(
  session: Session,
  cause: BlameRoundCause,
  vetoer: Nick | null,
  accused: Nick | null,
  seq: Seq,
  need: Nick[],
): BlameRound {
  // The joiner whose tokens the round judges: a batch's accused (veto) or complainant.
  const batch = session.kind === 'batch';
  const judged = batch
    ? cause === 'veto'
      ? accused
      : cause === 'complaint'
        ? vetoer
        : null
    : session.joiner;
  const ji = judged === null ? -1 : (session.indexByNick.get(judged) ?? -1);
  const batchKcs = ji >= 0 ? session.batchKcs.get(ji) : undefined;
  return {
    sid: session.sid,
    sidBytes: session.sidBytes,
    cause,
    participants: session.participants.map((p) => ({ ...p })),
    joiner: judged,
    joiners: [...session.joiners],
    shares: session.shares.map((z) => z ?? new Uint8Array(0)),
    joinerKcs: batch
      ? batchKcs
        ? [...batchKcs]
        : null
      : session.joinerKcs
        ? [...session.joinerKcs]
        : null,
    memberKcs: batch
      ? session.participants.map((_, i) => (ji >= 0 ? session.memberTokenTo(i, ji) : null))
      : [...session.memberKcs],
    vetoer,
    accused,
    need,
    revealed: new Map(),
    openedSeq: seq,
  };
}
