// Which sessions exist and which one is current: the pending lists, the winner rule, leaves,
// evictions and rekeys (PROTOCOL.md rules 1, 3, 4, 6, 7).
import type { Body } from './codec';
import { encodeFrame } from './codec';
import { deriveSid, historyStart, sortParticipants, transcriptStart } from './derive';
import type { SessionKind } from './events';
import { Session } from './session';
import type { TransitionReason } from './transitions';
import type { Nick, Participant, Seq } from './types';
import { asSid, bytesEqual, toHex } from './types';
import type { PendingJoiner, Ordered } from './engine-base';
import { isRoundJoiner, MAX_BATCH } from './engine-base';
import { KeyingLayer } from './engine-keying';
import { blameSentence } from './blame-text';

export abstract class MembershipLayer extends KeyingLayer {
  /** The sessions that should be in limbo on the current session, from the pending lists. */
  protected desiredSessions(): {
    kind: SessionKind;
    joiner: PendingJoiner | null;
    list: Participant[];
    joiners?: Nick[];
  }[] {
    const c = this.current;
    if (!c || this.blame) return []; // nothing is built while a blame round is open
    const base: Participant[] = [];
    c.participants.forEach((p, i) => {
      const next = c.confirmed[i];
      if (!this.pendingLeavers.has(p.nick) && next)
        base.push({ nick: p.nick, lt: p.lt, eph: next });
    });
    if (base.length === 0) return [];
    // A member whose next key was revealed builds nothing until its replacement is ordered.
    if (base.some((p) => this.burned.has(p.nick))) return [];
    const out: {
      kind: SessionKind;
      joiner: PendingJoiner | null;
      list: Participant[];
      joiners?: Nick[];
    }[] = [];
    // The batch first: the one-joiner sessions created with it see that it covers them.
    const inBatch = this.pendingJoiners.filter(
      (j) => this.batchJoiners?.includes(j.nick) && !base.some((p) => p.nick === j.nick),
    );
    if (inBatch.length >= 2) {
      const list = sortParticipants([
        ...base,
        ...inBatch.map((j) => ({ nick: j.nick, lt: j.lt, eph: j.eph })),
      ]);
      const joiners = list.filter((p) => inBatch.some((j) => j.nick === p.nick)).map((p) => p.nick);
      out.push({ kind: 'batch', joiner: null, list, joiners });
    }
    for (const j of this.pendingJoiners) {
      const list = sortParticipants([...base, { nick: j.nick, lt: j.lt, eph: j.eph }]);
      if (new Set(list.map((p) => p.nick)).size !== list.length) continue;
      out.push({ kind: 'join', joiner: j, list });
    }
    if ([...this.pendingLeavers].some((l) => c.indexByNick.has(l))) {
      out.push({ kind: 'leave', joiner: null, list: sortParticipants(base) });
    } else if (this.rekeyRequested) {
      out.push({ kind: 'rekey', joiner: null, list: sortParticipants(base) });
    }
    return out;
  }

  /** Kill the in-limbo sessions that no longer match the pending lists; create the missing ones. */
  protected reconcile(seq: Seq, at: number, why: TransitionReason): void {
    const c = this.current;
    if (!c) return;
    this.normalizeBatch();
    const desired = this.desiredSessions().map((d) => ({
      ...d,
      sidBytes: deriveSid(this.crypto, c.sidBytes, d.list),
    }));
    const wanted = new Set(desired.map((d) => toHex(d.sidBytes)));
    for (const s of this.limboOnCurrent()) {
      if (!wanted.has(s.sid)) {
        const reason: TransitionReason =
          why.kind === 'created' ? { kind: 'obsolete', detail: why.detail } : why;
        this.kill(s, reason, seq, at);
      }
    }
    for (const d of desired) {
      const sid = asSid(toHex(d.sidBytes));
      const existing = this.sessions.get(sid);
      if (existing) {
        if (existing.status === 'dead') {
          this.warn('sid-collision', `session ${sid.slice(0, 12)} would be recreated`, seq);
        }
        continue;
      }
      const detail =
        d.kind === 'join'
          ? `join of ${d.joiner?.nick}`
          : d.kind === 'batch'
            ? `batch join of ${(d.joiners ?? []).join(', ')}`
            : d.kind === 'leave'
              ? `leave of ${[...this.pendingLeavers].join(', ')}`
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
      this.sessions.set(sid, session);
      this.emitSession(session, seq);
      if (d.joiner) this.emit({ type: 'member-joining', nick: d.joiner.nick, sid, seq });
      this.startParticipating(session, seq);
    }
    // A change may have moved another join session to the front: contribute to it now.
    const front = this.frontJoinSession();
    if (front?.deferred) this.contribute(front, seq);
    this.releaseBatchHolds(seq);
    this.pruneDead();
  }

  /**
   * The batch keeps the joiners it formed with while they are still pending and not reported
   * silent; with fewer than two left there is no batch (the one-joiner sessions carry on).
   */
  protected normalizeBatch(): void {
    const pending = new Set(this.pendingJoiners.map((j) => j.nick));
    for (const n of [...this.unbatchable]) if (!pending.has(n)) this.unbatchable.delete(n);
    if (!this.batchJoiners) return;
    const left = this.batchJoiners.filter((n) => pending.has(n) && !this.unbatchable.has(n));
    this.batchJoiners = left.length >= 2 ? left : null;
  }

  /**
   * Who a batch forming at this event would admit: the pending joiners not reported silent
   * whose one-joiner session on C has no member's contribution ordered yet (a joiner whose own
   * session is under way keeps it). Null when a batch is already formed or none can form.
   */
  protected batchCandidates(): Nick[] | null {
    const c = this.current;
    if (!c || this.batchJoiners || this.blame) return null;
    const live = this.limboOnCurrent().filter((s) => s.kind === 'join');
    const fresh = this.pendingJoiners
      .filter((j) => !this.unbatchable.has(j.nick) && !c.indexByNick.has(j.nick))
      .filter((j) => {
        const s = live.find((x) => x.joiner === j.nick);
        return !s || s.shares.every((z, i) => z === null || i === s.joinerIndex);
      })
      .map((j) => j.nick);
    return fresh.length >= 2 ? fresh.slice(0, MAX_BATCH) : null;
  }

  /** Form the batch of `candidates` still pending (docs/PROTOCOL.md "Batch admission", rule B1). */
  protected formBatch(candidates: Nick[], seq: Seq, at: number): void {
    if (this.batchJoiners || !this.current || this.blame) return;
    const pending = new Set(this.pendingJoiners.map((j) => j.nick));
    const still = candidates.filter((n) => pending.has(n) && !this.unbatchable.has(n));
    if (still.length < 2) return;
    this.batchJoiners = still;
    this.reconcile(seq, at, { kind: 'created', detail: `batch join of ${still.join(', ')}` });
  }

  /** Confirm the one-joiner sessions whose confirmation waited on a batch no longer covering them. */
  protected releaseBatchHolds(seq: Seq): void {
    for (const s of this.limboOnCurrent()) {
      if (s.kind === 'join' && s.heldForBatch && s.joiner && !this.coveringBatch(s.joiner)) {
        s.heldForBatch = false;
        this.maybeConfirm(s, seq);
      }
    }
  }

  /** PROTOCOL.md rule 3: the first in-limbo session confirmed by all participants wins. */
  protected override makeCurrent(winner: Session, seq: Seq, at: number): void {
    const old = this.current;
    const reason = winner.transition('current', { kind: 'confirmed-by-all' }, seq, at);
    if (reason === null) return;
    this.previousCurrent = old;
    this.current = winner;
    this.cancel(`limbo:${winner.sid}`);
    this.emitSession(winner, seq);
    if (this.draining) this.kill(this.draining, { kind: 'draining-ended' }, seq, at);
    this.draining = null;
    if (old) {
      for (const s of [...this.sessions.values()]) {
        if (s.status === 'in-limbo' && s.parent === old.sid && s !== winner) {
          this.kill(s, { kind: 'superseded', by: winner.sid }, seq, at);
        }
      }
      old.transition('in-limbo', { kind: 'superseded', by: winner.sid }, seq, at);
      this.emitSession(old, seq);
      if (old.own?.sk) {
        this.draining = old;
        this.arm(`drain:${old.sid}`, this.drainMs);
      } else {
        this.kill(old, { kind: 'superseded', by: winner.sid }, seq, at);
      }
      for (const nick of old.members) {
        if (!winner.indexByNick.has(nick)) {
          this.emit({ type: 'member-cannot-read', nick, sid: winner.sid, seq });
        }
      }
    }
    for (const nick of winner.members) {
      if (!old?.indexByNick.has(nick))
        this.emit({ type: 'member-joined', nick, sid: winner.sid, seq });
    }
    if (winner.own?.sk && winner.own.mismatched.size > 0) {
      // Accuse, in the new session, those whose confirmation disagreed with ours: a majority
      // of agreeing members evicts the odd one out (rule 6), who may then rejoin.
      this.sendTimeout(winner, [...winner.own.mismatched], false);
    }
    if (winner.own?.sk) {
      winner.own.chain = [
        { seq, hash: transcriptStart(this.crypto, winner.own.sk, winner.sidBytes) },
      ];
    }
    this.history = historyStart(this.crypto, winner.sidBytes);
    this.burned.clear();
    this.clearPairKeyCache();
    this.pendingJoiners = this.pendingJoiners.filter((j) => !winner.indexByNick.has(j.nick));
    for (const nick of winner.members) this.slowJoiners.delete(nick);
    this.pendingLeavers = new Set(
      [...this.pendingLeavers].filter((l) => winner.indexByNick.has(l)),
    );
    this.accusations.clear();
    this.rekeyRequested = false;
    // Every session is built anew on the winner: the joiners pending now form the next batch.
    this.batchJoiners = null;
    this.batchJoiners = this.batchCandidates();
    if (winner.indexByNick.has(this.nick)) {
      if (winner.own) {
        this.setPhase('member', `member of ${winner.sid.slice(0, 12)}`);
        this.cancel('join-retry');
        if (this.rekeyIntervalMs > 0) this.arm('rekey', this.rekeyIntervalMs);
      }
    } else if (old?.indexByNick.has(this.nick)) {
      this.setPhase('left', 'the room continues without us');
    }
    this.reconcile(seq, at, { kind: 'superseded', by: winner.sid });
    this.releaseHeld(seq);
  }

  /** Send the chats that waited for a session without departed participants (or fail them). */
  protected releaseHeld(seq: Seq): void {
    if (this.held.length === 0) return;
    const c = this.current;
    if (!this.isMember || !c?.own?.sk) {
      if (this.mode === 'attached' && this.isMember === false && this.phase === 'left') {
        for (const h of this.held.splice(0)) {
          this.emit({
            type: 'chat-failed',
            ...(h.id === undefined ? {} : { id: h.id }),
            text: h.text,
            reason: 'we are no longer a member of the room',
          });
        }
      }
      return;
    }
    if (this.sendingBlocked()) return;
    void seq;
    for (const h of this.held.splice(0)) {
      this.emit({ type: 'chat-released', ...(h.id === undefined ? {} : { id: h.id }), sid: c.sid });
      this.sendChat(h.text, h.id);
    }
  }

  /**
   * Why a new chat may not be encrypted now: someone whose LEAVE, departure or eviction is
   * ordered is still in the current session, or a participant's confirmation disagreed with
   * our key or transcript (its view of the room differs). Null when sending is fine.
   */
  protected sendingBlocked(): string | null {
    const c = this.current;
    if (!c) return null;
    const leaving = c.members.filter((m) => this.pendingLeavers.has(m) && m !== this.nick);
    if (leaving.length > 0) return `waiting for the room to re-key without ${leaving.join(', ')}`;
    const odd = [...(c.own?.mismatched ?? [])];
    if (odd.length > 0)
      return `waiting for the room to re-key: ${odd.join(', ')} saw a different room`;
    return null;
  }

  protected abstract sendChat(text: string, id?: string): void;

  protected departure(
    nick: Nick,
    how: 'left' | 'disconnected' | 'evicted' | 'blamed',
    seq: Seq,
    at: number,
  ): void {
    const joinerIdx = this.pendingJoiners.findIndex((j) => j.nick === nick);
    if (joinerIdx >= 0) {
      this.pendingJoiners.splice(joinerIdx, 1);
      this.reconcile(seq, at, { kind: 'joiner-dropped', nick });
    }
    const c = this.current;
    if (!c || !c.indexByNick.has(nick) || this.pendingLeavers.has(nick)) return;
    this.pendingLeavers.add(nick);
    this.burned.delete(nick);
    this.emit({ type: 'member-left', nick, sid: c.sid, seq, reason: how });
    if (nick === this.nick) {
      this.setPhase(
        'left',
        `we ${how === 'evicted' || how === 'blamed' ? 'were removed' : 'left'}`,
      );
    }
    if (c.members.every((m) => this.pendingLeavers.has(m))) {
      this.blame = null;
      this.conversationEnded(c, seq, at);
      return;
    }
    // A participant of an open blame round left before revealing: the round may end now.
    if (this.blame?.need.includes(nick) && !this.blame.revealed.has(nick)) {
      this.revealerGone(nick, seq, at);
    }
    this.reconcile(seq, at, { kind: 'participant-left', nick });
  }

  /**
   * Every member of the current session has left: nobody is left to admit the pending joiners.
   * Each of them founds the room anew; the first genesis in the stream wins and its founder then
   * admits the others, who are still pending in everyone's view.
   */
  protected conversationEnded(c: Session, seq: Seq, at: number): void {
    const why: TransitionReason = { kind: 'obsolete', detail: 'all members left' };
    for (const s of this.limboOnCurrent()) this.kill(s, why, seq, at);
    c.transition('in-limbo', why, seq, at);
    this.emitSession(c, seq);
    if (this.draining) this.kill(this.draining, { kind: 'draining-ended' }, seq, at);
    this.draining = c.own?.sk ? c : null;
    if (!this.draining) this.kill(c, why, seq, at);
    this.previousCurrent = c;
    this.current = null;
    this.pendingLeavers.clear();
    this.accusations.clear();
    this.rekeyRequested = false;
    if (this.pendingJoiners.some((j) => j.nick === this.nick)) this.sendGenesis();
  }

  protected onTimeout(
    session: Session,
    body: Body<'TIMEOUT'>,
    event: Extract<Ordered, { kind: 'message' }>,
  ): string {
    const c = this.current;
    if (session !== c && body.veto === true && session.isJoiner(event.nick)) {
      return this.onComplaint(session, body.accused as Nick[], event);
    }
    if (session !== c) return 'not-current-session';
    if (this.pendingLeavers.has(event.nick)) return 'ignored: accuser is leaving';
    const round = this.blame;
    const forRound = round !== null && bytesEqual(body.stalled, round.sidBytes);
    const stalled = this.sessions.get(asSid(toHex(body.stalled)));
    // Accusations name a session in limbo on C, the open blame round, or C itself (a
    // confirmation that disagreed with the accuser's key or transcript, sent once C won).
    const aboutCurrent = stalled === c && body.veto !== true;
    if (
      !forRound &&
      !aboutCurrent &&
      (!stalled || stalled.parent !== c.sid || stalled.status !== 'in-limbo')
    )
      return 'ignored: stale timeout';
    if (body.slow === true) {
      if (body.veto === true || !stalled || stalled.kind !== 'batch' || stalled === c)
        return 'ignored: a stall report names a batch session';
      const silent = (body.accused as Nick[]).filter(
        (n) => stalled.isJoiner(n) && this.pendingJoiners.some((j) => j.nick === n),
      );
      if (silent.length === 0) return 'ignored: names no joiner of the batch';
      for (const n of silent) this.unbatchable.add(n);
      this.reconcile(event.seq, event.at, {
        kind: 'obsolete',
        detail: `batch stalled on ${silent.join(', ')}`,
      });
      return 'accepted';
    }
    if (body.veto === true) {
      if (forRound || !stalled) return 'ignored: a blame round is open';
      return this.onVeto(stalled, body.accused as Nick[], event);
    }
    for (const accused of body.accused as Nick[]) {
      if (accused === event.nick) continue;
      const set = this.accusations.get(accused) ?? new Set<Nick>();
      set.add(event.nick);
      this.accusations.set(accused, set);
      const members = c.participants.length;
      if (c.indexByNick.has(accused)) {
        if (set.size * 2 > members - 1) {
          this.warn(
            'eviction',
            `${accused} evicted after timeouts by ${[...set].join(', ')}`,
            event.seq,
          );
          this.emit({
            type: 'blame',
            nick: accused,
            cause: 'reported-by-majority',
            message: blameSentence(
              accused,
              'reported-by-majority',
              { joiner: null, vetoer: null },
              true,
            ),
            sid: stalled?.sid ?? c.sid,
            seq: event.seq,
            removed: true,
          });
          this.departure(accused, 'evicted', event.seq, event.at);
        }
      } else if (forRound && isRoundJoiner(round, accused) && !round.revealed.has(accused)) {
        // The joiner of a failed session never revealed: it is the one that stalls the round.
        if (set.size * 2 > members) this.revealerGone(accused, event.seq, event.at);
      } else if (this.pendingJoiners.some((j) => j.nick === accused)) {
        if (set.size * 2 > members) {
          this.warn('eviction', `joiner ${accused} dropped (timeout)`, event.seq);
          this.pendingJoiners = this.pendingJoiners.filter((j) => j.nick !== accused);
          this.reconcile(event.seq, event.at, { kind: 'joiner-dropped', nick: accused });
        }
      }
    }
    return 'accepted';
  }

  /** Implemented by the accountability layer: a veto opens a blame round (or blames the vetoer). */
  protected abstract onVeto(
    stalled: Session,
    accused: Nick[],
    event: Extract<Ordered, { kind: 'message' }>,
  ): string;

  /** Implemented by the accountability layer: a joiner's complaint against a member's token. */
  protected abstract onComplaint(
    session: Session,
    accused: Nick[],
    event: Extract<Ordered, { kind: 'message' }>,
  ): string;

  /** Implemented by the accountability layer: a participant that had to reveal is gone. */
  protected abstract revealerGone(nick: Nick, seq: Seq, at: number): void;

  protected onRekey(session: Session, event: { seq: Seq; at: number }): string {
    if (session !== this.current) return 'not-current-session';
    if (this.blame) return 'ignored: a blame round is open';
    if (this.limboOnCurrent().length > 0) return 'ignored: a session is already in limbo';
    this.rekeyRequested = true;
    this.reconcile(event.seq, event.at, { kind: 'created', detail: 'rekey' });
    return 'accepted';
  }

  protected override sendTimeout(
    stalled: { sidBytes: Uint8Array },
    accused: Nick[],
    veto: boolean,
    slow = false,
  ): void {
    const c = this.current;
    const own = c?.own;
    if (!c || !own || !c.indexByNick.has(this.nick) || accused.length === 0) return;
    const body: Body<'TIMEOUT'> = { index: own.index, stalled: stalled.sidBytes, accused };
    if (veto) body.veto = true;
    if (slow) body.slow = true;
    this.send(encodeFrame(this.crypto, 'TIMEOUT', c.sidBytes, body, own.eph.secretKey));
  }
}
