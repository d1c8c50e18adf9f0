// Accountability (docs/PROTOCOL.md "Accountability"): a failed session opens a blame round in
// which its participants reveal their ephemeral secrets for it; every client then recomputes,
// from public data and those secrets alone, who sent a wrong share or who lied in a veto, and
// removes that participant at the same ordered event. The revealed keys are dead: every session
// built with them dies when the round opens, and members announce replacement next keys.
import type { Body, ParsedFrame } from './codec';
import { decodeBody, encodeFrame, verifyFrame } from './codec';
import { CryptoError } from './crypto';
import { authToken, ringSecret, tripleDhFromEphemerals, xor } from './derive';
import type { BlameCause, BlameRoundCause } from './events';
import { blameSentence } from './blame-text';
import type { Session } from './session';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import { bytesEqual, toHex } from './types';
import type { BlameRound, Ordered } from './engine-base';
import { isRoundJoiner } from './engine-base';
import { MembershipLayer } from './engine-membership';

type MessageEvent = Extract<Ordered, { kind: 'message' }>;

export abstract class AccountabilityLayer extends MembershipLayer {
  /** Rule 2 and 3: a failed session's participants must reveal; nothing is built meanwhile. */
  protected override openBlame(
    session: Session,
    cause: BlameRoundCause,
    vetoer: Nick | null,
    seq: Seq,
    at: number,
    accused: Nick | null = session.joiner,
  ): void {
    const c = this.current;
    if (!c || this.blame) return;
    const need =
      cause === 'inconsistent-shares' ? [...session.members] : [vetoer as Nick, accused as Nick];
    const round = newRound(session, cause, vetoer, accused, seq, need);
    this.blame = round;
    for (const n of need) if (c.indexByNick.has(n) && !session.isJoiner(n)) this.burned.add(n);
    const why = { kind: 'obsolete' as const, detail: `blame round on ${session.sid.slice(0, 12)}` };
    for (const s of this.limboOnCurrent()) this.kill(s, why, seq, at);
    // A revealing joiner's join key is about to be public: this attempt is over (an honest
    // joiner asks again at once, with a fresh key). A batch's other joiners stay pending.
    this.pendingJoiners = this.pendingJoiners.filter(
      (j) => !(session.isJoiner(j.nick) && need.includes(j.nick)),
    );
    this.clearPairKeyCache();
    const text =
      cause === 'inconsistent-shares'
        ? `the key contributions did not add up: ${need.join(', ')} reveal their keys for the failed session`
        : `${vetoer} says ${accused}'s token does not verify: both reveal their keys for the failed session`;
    this.warn('blame-round', text, seq);
    this.emit({ type: 'blame-round', sid: session.sid, cause, need, seq });
    if (need.includes(this.nick)) this.sendReveal(round, session);
    if (this.isMember) this.arm(`reveal:${session.sid}`, this.limboTimeoutMs);
  }

  /** Reveal our ephemeral secret of the failed session (members: and replace our next key). */
  protected sendReveal(round: BlameRound, session: Session): void {
    const index = session.indexByNick.get(this.nick);
    if (index === undefined) return;
    const eph = (session.participants[index] as Participant).eph;
    const c = this.current;
    if (session.isJoiner(this.nick)) {
      const attempt = this.joinAttempts.get(toHex(eph));
      if (!attempt) return;
      const body: Body<'REVEAL'> = { index, secret: attempt.secretKey.slice(0, 32) };
      this.send(encodeFrame(this.crypto, 'REVEAL', round.sidBytes, body, attempt.secretKey));
      this.joinAttempts.delete(toHex(eph));
      this.sendJoinRequest();
      return;
    }
    const own = c?.own;
    const cIndex = c?.indexByNick.get(this.nick);
    if (!c || !own?.next || cIndex === undefined || !bytesEqual(own.next.publicKey, eph)) return;
    const old = own.next;
    own.next = this.crypto.signKeyPair();
    const body: Body<'REVEAL'> = {
      index: cIndex,
      secret: old.secretKey.slice(0, 32),
      session: round.sidBytes,
      next: own.next.publicKey,
    };
    this.send(encodeFrame(this.crypto, 'REVEAL', c.sidBytes, body, own.eph.secretKey));
  }

  protected abstract sendJoinRequest(): void;

  /** A REVEAL: checked against the round, the sender's key in the failed session, and stored. */
  protected onReveal(frame: ParsedFrame, event: MessageEvent): string {
    if (this.mode !== 'attached') return 'ignored: not following the room yet';
    const round = this.blame;
    const c = this.current;
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
    const verified = verifyFrame(this.crypto, frame, signer);
    if (!verified) return 'bad-signature';
    const body = decodeBody(verified, 'REVEAL');
    if (!body.ok) return body.error;
    const b = body.value;
    if (b.index !== (fromJoiner ? sIndex : cIndex)) return 'sender-index-mismatch';
    if (!fromJoiner && (!b.session || !bytesEqual(b.session, round.sidBytes) || !b.next)) {
      return 'body-schema';
    }
    if (round.revealed.has(event.nick)) return 'duplicate-contribution';
    const keys = this.crypto.signKeyPairFromSeed(b.secret);
    if (!bytesEqual(keys.publicKey, (round.participants[sIndex] as Participant).eph)) {
      // A signed reveal of a key that is not the sender's: provably false.
      this.conclude(round, [{ nick: event.nick, cause: 'bad-reveal' }], event.seq, event.at);
      return 'accepted';
    }
    round.revealed.set(event.nick, b.secret);
    if (!fromJoiner && cIndex !== undefined && b.next) {
      c.confirmed[cIndex] = b.next;
      this.burned.delete(event.nick);
    }
    this.maybeConclude(round, event.seq, event.at);
    return 'accepted';
  }

  /** A participant that had to reveal left, was evicted, or (a joiner) stayed silent. */
  protected override revealerGone(nick: Nick, seq: Seq, at: number): void {
    const round = this.blame;
    if (!round || round.revealed.has(nick)) return;
    const silentJoiner = isRoundJoiner(round, nick);
    round.need = round.need.filter((n) => n !== nick);
    if (silentJoiner) {
      this.conclude(round, [{ nick, cause: 'no-reveal' }], seq, at);
      return;
    }
    this.maybeConclude(round, seq, at);
  }

  protected maybeConclude(round: BlameRound, seq: Seq, at: number): void {
    if (!round.need.every((n) => round.revealed.has(n))) return;
    const complete = round.participants.every(
      (p) =>
        round.revealed.has(p.nick) ||
        (round.cause !== 'inconsistent-shares' &&
          p.nick !== round.vetoer &&
          p.nick !== round.accused),
    );
    this.conclude(round, complete ? this.verdict(round) : [], seq, at);
  }

  /** Who cheated, recomputed from public data and the revealed secrets (rule 3). */
  protected verdict(round: BlameRound): { nick: Nick; cause: BlameCause }[] {
    const keysOf = (p: Participant) => ({
      nick: p.nick,
      lt: p.lt,
      eph: this.crypto.signKeyPairFromSeed(round.revealed.get(p.nick) as Uint8Array) as SignKeyPair,
    });
    try {
      if (round.cause !== 'inconsistent-shares') {
        // The claimant says the accused's token to it does not verify: recompute that token.
        const v = round.participants.find((p) => p.nick === round.vetoer) as Participant;
        const a = round.participants.find((p) => p.nick === round.accused) as Participant;
        const k = tripleDhFromEphemerals(this.crypto, keysOf(v), keysOf(a));
        const expected = authToken(this.crypto, k, round.sidBytes, v);
        const veto = round.cause === 'veto';
        const sent = veto
          ? round.joinerKcs?.[round.participants.indexOf(v)]
          : round.memberKcs[round.participants.indexOf(a)];
        const tokenOk = !!sent && this.crypto.constantTimeEqual(expected, sent);
        if (tokenOk) return [{ nick: v.nick, cause: veto ? 'false-veto' : 'false-complaint' }];
        return [{ nick: a.nick, cause: veto ? 'bad-joiner-token' : 'bad-member-token' }];
      }
      const n = round.participants.length;
      const keys = round.participants.map(keysOf);
      const secrets = keys.map((a, i) =>
        ringSecret(
          this.crypto,
          tripleDhFromEphemerals(this.crypto, a, keys[(i + 1) % n] as (typeof keys)[0]),
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
  protected conclude(
    round: BlameRound,
    cheaters: { nick: Nick; cause: BlameCause }[],
    seq: Seq,
    at: number,
  ): void {
    if (this.blame !== round) return;
    this.blame = null;
    this.cancel(`reveal:${round.sid}`);
    for (const n of round.need) if (!round.revealed.has(n)) this.burned.delete(n);
    if (cheaters.length === 0) {
      this.warn(
        'blame-round',
        `blame round on ${round.sid.slice(0, 12)} ended: nobody could be blamed`,
        seq,
      );
    }
    for (const x of cheaters) this.blameParticipant(round, x.nick, x.cause, seq, at);
    this.reconcile(seq, at, { kind: 'created', detail: 'after a blame round' });
    this.releaseHeld(seq);
  }

  protected blameParticipant(
    round: BlameRound,
    nick: Nick,
    cause: BlameCause,
    seq: Seq,
    at: number,
  ): void {
    const p = round.participants.find((x) => x.nick === nick);
    if (p && !this.banned.some((b) => b.nick === nick || bytesEqual(b.lt, p.lt))) {
      this.banned.push({ nick, lt: p.lt });
    }
    const member = this.current?.indexByNick.has(nick) === true;
    const message = blameSentence(nick, cause, round, member);
    this.warn('blame', message, seq);
    this.emit({ type: 'blame', nick, cause, message, sid: round.sid, seq, removed: true });
    this.pendingJoiners = this.pendingJoiners.filter((j) => j.nick !== nick);
    if (member) this.departure(nick, 'blamed', seq, at);
  }

  /** A joiner, or the lt of a former cheater, refused for the life of the room. */
  protected isBanned(nick: Nick, lt: Uint8Array): boolean {
    return this.banned.some((b) => b.nick === nick || bytesEqual(b.lt, lt));
  }

  /**
   * A veto (TIMEOUT with veto) names the joiner of `stalled`. Before the joiner's tokens were
   * ordered there is nothing it could be about: the vetoer is blamed at once. Otherwise the
   * vetoer and the joiner reveal, and the token decides (rule 3).
   */
  protected override onVeto(stalled: Session, accused: Nick[], event: MessageEvent): string {
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
    if (!tokens) {
      const round = newRound(stalled, 'veto', event.nick, joiner, event.seq, []);
      this.blameParticipant(round, event.nick, 'false-veto', event.seq, event.at);
      return 'accepted';
    }
    this.openBlame(stalled, 'veto', event.nick, event.seq, event.at, joiner);
    return 'accepted';
  }

  /**
   * The joiner's complaint (a TIMEOUT with veto, signed in its own join session) that a member's
   * token to it does not verify: the mirror of a veto, settled by the same reveal.
   */
  protected override onComplaint(session: Session, accused: Nick[], event: MessageEvent): string {
    const member = accused[0];
    if (accused.length !== 1 || !member || session.isJoiner(member)) {
      return 'ignored: a complaint names one member';
    }
    if (!session.indexByNick.has(member)) return 'ignored: not a participant';
    if (session.status !== 'in-limbo' || session.parent !== this.current?.sid) {
      return 'ignored: stale timeout';
    }
    if (this.blame) return 'ignored: a blame round is open';
    const mi = session.indexByNick.get(member) as number;
    const ordered =
      session.kind === 'batch' ? session.batchMkcs.has(mi) : session.memberKcs[mi] !== null;
    if (!ordered) {
      // No token from that member was ordered: nothing it could be about.
      const round = newRound(session, 'complaint', event.nick, member, event.seq, []);
      this.blameParticipant(round, event.nick, 'false-complaint', event.seq, event.at);
      return 'accepted';
    }
    this.openBlame(session, 'complaint', event.nick, event.seq, event.at, member);
    return 'accepted';
  }

  /** The reveal timer: accuse, in the current session, those who have not revealed. */
  protected onRevealTimer(key: string): void {
    const round = this.blame;
    if (!round || key !== `reveal:${round.sid}` || !this.isMember) return;
    const missing = round.need.filter((n) => !round.revealed.has(n) && n !== this.nick);
    this.sendTimeout(round, missing, false);
    this.arm(key, this.limboTimeoutMs);
  }
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
