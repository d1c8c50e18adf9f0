// Key agreement inside one session: our own contribution when a session is created, the
// participants' shares and tokens, the session key, and confirmations (PROTOCOL.md rule 2).
import { CryptoError } from './crypto';
import type { Body } from './codec';
import { encodeFrame } from './codec';
import { authToken, boundHistory, confirmation, ringSecret, sessionKey, xor } from './derive';
import type { Session } from './session';
import { encodePublicState } from './state-transfer';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import type { BlameRoundCause } from './events';
import { bytesEqual, fromHex, toHex } from './types';
import { EMPTY } from './engine-base';
import { EngineBase } from './engine-base';

export abstract class KeyingLayer extends EngineBase {
  /**
   * A new session we take part in. Members contribute at once to leave and rekey sessions and
   * to the front join session (the earliest pending joiner's); other join sessions wait until
   * they reach the front or a local stall timer fires (docs/PROTOCOL.md "Lazy contributions").
   * Either way the transcript hash binds the parent as it was when the session was created.
   */
  protected startParticipating(session: Session, seq: Seq): void {
    if (!session.indexByNick.has(this.nick)) return;
    const c = this.current as Session;
    const isJoiner = session.isJoiner(this.nick);
    session.parentTranscript = isJoiner ? EMPTY : this.parentBinding(c);
    if (session.kind === 'join' && this.frontJoinSession() !== session) {
      session.deferred = true;
      this.arm(`stall:${session.sid}`, this.stallMs);
      return;
    }
    this.contribute(session, seq);
  }

  /**
   * What our confirmation of a child of `c` binds: the CHAT transcript head and the chain over
   * every ordered event since `c` became current, as of now (the child's creation event).
   */
  protected parentBinding(c: Session): Uint8Array {
    return boundHistory(this.crypto, this.transcriptHead(c), this.history);
  }

  /** The join session of the earliest pending joiner that has one on the current session. */
  protected frontJoinSession(): Session | null {
    // While a batch is live (and has not stalled for us), every joiner waits for a batch: the
    // ones it covers for it, later arrivals for the next one (docs/PROTOCOL.md rule B3).
    if (this.limboOnCurrent().some((s) => s.kind === 'batch' && !s.stalled)) return null;
    const live = this.limboOnCurrent().filter((s) => s.kind === 'join');
    for (const j of this.pendingJoiners) {
      if (this.slowJoiners.has(j.nick)) continue;
      const s = live.find((x) => x.joiner === j.nick);
      if (s) return s;
    }
    return null;
  }

  /**
   * Joiners whose front session once made the others stall (a local memory, like the stall
   * timer itself: it only decides when we contribute, never what wins). They are not the front
   * again, so one silent joiner costs the joiners behind it one stall period, not one each.
   */
  protected readonly slowJoiners = new Set<Nick>();

  /** Compute our share (and tokens) for `session` and send our contribution. */
  protected contribute(session: Session, seq: Seq): void {
    const index = session.indexByNick.get(this.nick);
    if (index === undefined || session.own || session.status !== 'in-limbo') return;
    session.deferred = false;
    this.cancel(`stall:${session.sid}`);
    const c = this.current as Session;
    const isJoiner = session.isJoiner(this.nick);
    let eph: SignKeyPair | undefined;
    if (isJoiner) {
      eph = this.joinAttempts.get(toHex((session.participants[index] as Participant).eph));
    } else {
      const cIndex = c.indexByNick.get(this.nick);
      eph = cIndex === undefined ? undefined : (c.own?.next ?? undefined);
    }
    if (!eph || !bytesEqual(eph.publicKey, (session.participants[index] as Participant).eph)) {
      return; // not ours to take part in (e.g. an attempt we no longer hold keys for)
    }
    const parentTranscript = session.parentTranscript ?? (isJoiner ? EMPTY : this.parentBinding(c));
    const own = this.newOwnPart(index, eph, parentTranscript);
    session.own = own;
    const n = session.participants.length;
    try {
      const right = this.pairKey(session, (index + 1) % n);
      const left = this.pairKey(session, (index - 1 + n) % n);
      const sRight = ringSecret(this.crypto, right, session.sidBytes);
      const sLeft = ringSecret(this.crypto, left, session.sidBytes);
      own.ringSecret = sRight;
      const z = xor(sRight, sLeft);
      if (session.kind === 'batch') {
        this.sendBatchContribution(session, index, eph, z, seq);
      } else if (session.kind === 'join' && !isJoiner) {
        const j = session.joinerIndex;
        const kc = authToken(
          this.crypto,
          this.pairKey(session, j),
          session.sidBytes,
          session.participants[j] as Participant,
        );
        const sponsor = session.participants.findIndex((p) => p.nick !== session.joiner);
        const body: Body<'PARTICIPANTS_INFO'> = { index, parent: c.sidBytes, kc, z };
        if (sponsor === index) body.state = encodePublicState(this.exportState(seq));
        this.send(
          encodeFrame(this.crypto, 'PARTICIPANTS_INFO', session.sidBytes, body, eph.secretKey),
        );
      } else if (session.kind === 'join') {
        const kcs = session.participants.map((p, i) =>
          i === index
            ? null
            : authToken(this.crypto, this.pairKey(session, i), session.sidBytes, p),
        );
        this.send(
          encodeFrame(
            this.crypto,
            'JOINER_AUTH',
            session.sidBytes,
            { index, kcs, z },
            eph.secretKey,
          ),
        );
        this.setPhase('authenticating', `candidate session ${session.sid.slice(0, 12)}`);
      } else {
        const body = { index, parent: c.sidBytes, z };
        this.send(encodeFrame(this.crypto, 'GROUP_SHARE', session.sidBytes, body, eph.secretKey));
      }
      if (c.indexByNick.has(this.nick) && !isJoiner) {
        this.arm(`limbo:${session.sid}`, this.limboTimeoutMs);
      }
      if (session.kind === 'batch')
        this.arm(`batch-stall:${session.sid}`, this.batchStallMs(session));
      // The joiners' tokens may have arrived while our contribution waited.
      const joinerIndex = session.joinerIndex;
      if (!isJoiner && session.joinerKcs && joinerIndex >= 0) {
        this.checkJoinerToken(session, joinerIndex, session.joinerKcs, seq);
        this.afterProgress(session, seq);
      }
      if (!isJoiner && session.batchKcs.size > 0) {
        for (const [j, kcs] of session.batchKcs) this.checkJoinerToken(session, j, kcs, seq);
        this.afterProgress(session, seq);
      }
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      this.warn(
        'dropped-invalid-message',
        `cannot key session ${session.sid.slice(0, 12)}: ${error.message}`,
        seq,
      );
    }
  }

  /**
   * Our contribution to a batch session: a member's PARTICIPANTS_INFO carries a token to every
   * joiner (the sponsor's also the room state, for all of them); a joiner's JOINER_AUTH carries
   * a token to every member. Joiners send none to each other: the members vouch for each joiner
   * by confirming only once its token verified (docs/PROTOCOL.md "Batch admission").
   */
  protected sendBatchContribution(
    session: Session,
    index: number,
    eph: SignKeyPair,
    z: Uint8Array,
    seq: Seq,
  ): void {
    const c = this.current as Session;
    const token = (i: number) =>
      authToken(
        this.crypto,
        this.pairKey(session, i),
        session.sidBytes,
        session.participants[i] as Participant,
      );
    if (session.isJoinerIndex(index)) {
      const kcs = session.participants.map((_, i) =>
        i === index || session.isJoinerIndex(i) ? null : token(i),
      );
      const body: Body<'JOINER_AUTH'> = { index, kcs, z };
      this.send(encodeFrame(this.crypto, 'JOINER_AUTH', session.sidBytes, body, eph.secretKey));
      this.setPhase('authenticating', `candidate session ${session.sid.slice(0, 12)}`);
      return;
    }
    const kcs = session.participants.map((_, i) => (session.isJoinerIndex(i) ? token(i) : null));
    const body: Body<'PARTICIPANTS_INFO'> = { index, parent: c.sidBytes, kcs, z };
    const sponsor = session.participants.findIndex((_, i) => !session.isJoinerIndex(i));
    if (sponsor === index) body.state = encodePublicState(this.exportState(seq));
    this.send(encodeFrame(this.crypto, 'PARTICIPANTS_INFO', session.sidBytes, body, eph.secretKey));
  }

  protected onContribution(
    session: Session,
    index: number,
    z: Uint8Array,
    event: { seq: Seq; at: number },
    extra: { kc?: Uint8Array; kcs?: readonly (Uint8Array | null)[]; parent: Uint8Array },
  ): string {
    if (session.status !== 'in-limbo' || session.kind === 'genesis') return 'ignored: not in limbo';
    if (!session.parent || !bytesEqual(extra.parent, fromHex(session.parent)))
      return 'wrong-parent';
    if ((extra.kc !== undefined) !== (session.kind === 'join')) return 'wrong-message-for-session';
    if ((extra.kcs !== undefined) !== (session.kind === 'batch'))
      return 'wrong-message-for-session';
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
    if (this.sharesFailed(session, event)) return 'accepted';
    // Members are working on this session: if we are waiting to contribute, wait no longer.
    if (session.deferred) this.contribute(session, event.seq);
    const own = session.own;
    const kcToUs = own ? (extra.kc ?? extra.kcs?.[own.index] ?? null) : null;
    if (own && session.isJoinerIndex(own.index) && (extra.kc || extra.kcs)) {
      try {
        const expected = authToken(
          this.crypto,
          this.pairKey(session, index),
          session.sidBytes,
          session.participants[own.index] as Participant,
        );
        if (kcToUs && this.crypto.constantTimeEqual(expected, kcToUs)) own.tokensOk.add(index);
        else {
          const who = (session.participants[index] as Participant).nick;
          this.warn('bad-member-token', `token from ${who} does not verify`, event.seq);
          this.sendComplaint(session, who);
        }
      } catch (error) {
        if (!(error instanceof CryptoError)) throw error;
      }
    }
    this.afterProgress(session, event.seq);
    return 'accepted';
  }

  protected onJoinerAuth(
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
    if (this.sharesFailed(session, event)) return 'accepted';
    if (session.own && !session.isJoinerIndex(session.own.index))
      this.checkJoinerToken(session, index, body.kcs, event.seq);
    this.afterProgress(session, event.seq);
    return 'accepted';
  }

  /** Check the joiner's token addressed to us; a bad one is vetoed (docs/PROTOCOL.md). */
  protected checkJoinerToken(
    session: Session,
    joinerIndex: number,
    kcs: readonly (Uint8Array | null)[],
    seq: Seq,
  ): void {
    const own = session.own;
    if (!own || joinerIndex < 0 || own.tokensOk.has(joinerIndex)) return;
    const joiner = (session.participants[joinerIndex] as Participant).nick;
    const kc = kcs[own.index];
    let ok = false;
    if (kc) {
      const expected = authToken(
        this.crypto,
        this.pairKey(session, joinerIndex),
        session.sidBytes,
        session.participants[own.index] as Participant,
      );
      ok = this.crypto.constantTimeEqual(expected, kc);
    }
    if (ok) own.tokensOk.add(joinerIndex);
    else {
      this.warn('bad-joiner-token', `joiner ${joiner} sent us a token that does not verify`, seq);
      this.sendTimeout(session, [joiner], true);
    }
  }

  /**
   * The shares of a session are public, and they telescope around the ring: once all are in,
   * anyone can see whether they add up to zero. When they do not, every client opens the same
   * blame round at this same event (docs/PROTOCOL.md "Accountability", rule 2).
   */
  protected sharesFailed(session: Session, event: { seq: Seq; at: number }): boolean {
    if (!session.allShares()) return false;
    const shares = session.shares as Uint8Array[];
    if (shares.some((z) => z.length !== 32)) return false; // not known to this observer
    const sum = shares.reduce((acc, z) => xor(acc, z), new Uint8Array(32));
    if (sum.every((b) => b === 0)) return false;
    if (session.own) session.own.inconsistent = true;
    this.warn(
      'inconsistent-shares',
      `shares of ${session.sid.slice(0, 12)} do not add up`,
      event.seq,
    );
    this.openBlame(session, 'inconsistent-shares', null, event.seq, event.at);
    return true;
  }

  /** The joiner's veto of a member whose token to it does not verify (signed in the session). */
  protected sendComplaint(session: Session, member: Nick): void {
    const own = session.own;
    if (!own || !session.isJoinerIndex(own.index)) return;
    const body: Body<'TIMEOUT'> = {
      index: own.index,
      stalled: session.sidBytes,
      accused: [member],
      veto: true,
    };
    this.send(encodeFrame(this.crypto, 'TIMEOUT', session.sidBytes, body, own.eph.secretKey));
  }

  protected abstract openBlame(
    session: Session,
    cause: BlameRoundCause,
    vetoer: Nick | null,
    seq: Seq,
    at: number,
  ): void;

  protected afterProgress(session: Session, seq: Seq): void {
    this.emit({ type: 'progress', progress: session.progress(), seq });
    this.noteBatchProgress(session);
    this.maybeConfirm(session, seq);
  }

  /**
   * A batch stalls when nothing new arrives for it during the stall time (rule B4), not when it
   * is merely slow: every share or confirmation we take part in restarts our stall timer, so a
   * big batch on a busy machine is not abandoned while it still moves.
   */
  protected noteBatchProgress(session: Session): void {
    if (session.kind !== 'batch' || !session.own || session.stalled) return;
    if (session.status !== 'in-limbo') return;
    this.arm(`batch-stall:${session.sid}`, this.batchStallMs(session));
  }

  /**
   * The stall time of a batch grows with it: every participant handles about two frames per
   * participant in a round, so a healthy batch of 70 needs longer than one of 7 (rule B4).
   */
  protected batchStallMs(session: Session): number {
    return this.stallMs * Math.max(1, Math.ceil(session.participants.length / 20));
  }

  /**
   * Confirm once every share is in and every token to us verified. A one-joiner session whose
   * joiner a live batch covers waits (a local choice of when to send, like the stall timer):
   * the batch goes first, and this session is the fallback if the batch stalls or dies.
   */
  protected maybeConfirm(session: Session, seq: Seq): void {
    const own = session.own;
    if (!own || own.sk || session.status !== 'in-limbo' || !session.allShares()) return;
    if (own.tokensOk.size < session.tokensNeeded(own.index)) return;
    if (session.kind === 'join' && session.joiner && this.coveringBatch(session.joiner)) {
      session.heldForBatch = true;
      return;
    }
    // The shares telescope around the ring: their XOR is zero unless someone lied about z.
    // Confirming would agree on nothing, so we refuse and say so (docs/PROTOCOL.md, blame).
    const sum = (session.shares as Uint8Array[]).reduce(
      (acc, z) => xor(acc, z),
      new Uint8Array(32),
    );
    if (sum.some((b) => b !== 0)) {
      if (!own.inconsistent) {
        own.inconsistent = true;
        this.warn(
          'inconsistent-shares',
          `shares of ${session.sid.slice(0, 12)} do not add up`,
          seq,
        );
      }
      return;
    }
    own.sk = sessionKey(
      this.crypto,
      session.sidBytes,
      own.index,
      own.ringSecret,
      session.shares as Uint8Array[],
    );
    const conf = confirmation(
      this.crypto,
      own.sk,
      session.sidBytes,
      session.participants[own.index] as Participant,
      own.parentTranscript,
    );
    own.next = this.crypto.signKeyPair();
    const body = { index: own.index, conf, next: own.next.publicKey };
    this.send(
      encodeFrame(this.crypto, 'SESSION_CONFIRMATION', session.sidBytes, body, own.eph.secretKey),
    );
  }

  protected onConfirmation(
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
        const expected = confirmation(this.crypto, own.sk, session.sidBytes, who, transcript);
        if (!this.crypto.constantTimeEqual(expected, body.conf)) {
          this.warn(
            'key-mismatch',
            `${who.nick} confirmed a different key or transcript`,
            event.seq,
          );
          own.mismatched.add(who.nick);
          this.sendTimeout(session, [who.nick], false);
        }
      } else if (senderJoiner) {
        const expected = confirmation(this.crypto, own.sk, session.sidBytes, who, EMPTY);
        if (!this.crypto.constantTimeEqual(expected, body.conf)) {
          this.warn('key-mismatch', `joiner ${who.nick} confirmed a different key`, event.seq);
          own.mismatched.add(who.nick);
        }
      }
    }
    this.emit({ type: 'progress', progress: session.progress(), seq: event.seq });
    this.noteBatchProgress(session);
    if (session.allConfirmed() && session.parent === this.current?.sid) {
      this.makeCurrent(session, event.seq, event.at);
    }
    return 'accepted';
  }
}
