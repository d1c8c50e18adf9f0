// The joiner's side: join requests, following the room from a sponsor's state transfer, and
// founding a room alone (PROTOCOL.md rule 5, docs/PROTOCOL.md "Joiners follow the room").
import type { ParsedFrame } from './codec';
import { decodeBody, encodeFrame, verifyFrame } from './codec';
import { confirmation, deriveSid, ringSecret, sessionKey, tripleDh } from './derive';
import { Session } from './session';
import type { PublicState } from './state-transfer';
import { decodePublicState } from './state-transfer';
import type { Nick, Participant, Seq, SignKeyPair } from './types';
import { asSeq, asSid, bytesEqual, fromHex, toHex } from './types';
import type { Mode, Ordered } from './engine-base';
import { EMPTY } from './engine-base';
import { AccountabilityLayer } from './engine-accountability';

export abstract class JoiningLayer extends AccountabilityLayer {
  protected newJoinEph(): SignKeyPair {
    const eph = this.crypto.signKeyPair();
    this.joinAttempts.set(toHex(eph.publicKey), eph);
    return eph;
  }

  protected override sendJoinRequest(): void {
    const eph = this.newJoinEph();
    const body = { nick: this.nick, lt: this.identity.publicKey, eph: eph.publicKey };
    this.send(encodeFrame(this.crypto, 'JOIN_REQUEST', null, body, eph.secretKey));
    this.setPhase('requesting', 'join request sent');
    this.arm('join-retry', this.joinRetryMs);
  }

  protected onJoinRequest(
    frame: ParsedFrame,
    event: Extract<Ordered, { kind: 'message' }>,
  ): string {
    const body = decodeBody(frame, 'JOIN_REQUEST');
    if (!body.ok) return body.error;
    if (body.value.nick !== event.nick) return 'sender-mismatch';
    if (!verifyFrame(this.crypto, frame, body.value.eph)) return 'bad-signature';
    if (this.mode !== 'attached') return 'accepted';
    if (this.current?.indexByNick.has(event.nick) && !this.pendingLeavers.has(event.nick)) {
      return 'ignored: already a member';
    }
    if (this.pendingJoiners.some((j) => j.nick === event.nick)) return 'ignored: duplicate request';
    if (this.isBanned(event.nick, body.value.lt)) return 'ignored: blamed in this room';
    this.pendingJoiners.push({ ...body.value, nick: event.nick, seq: event.seq });
    this.reconcile(event.seq, event.at, { kind: 'created', detail: `join of ${event.nick}` });
    return 'accepted';
  }

  /** The sponsor's state transfer turns a detached joiner into an observer of the room. */
  protected tryAttach(frame: ParsedFrame, event: Extract<Ordered, { kind: 'message' }>): string {
    const body = decodeBody(frame, 'PARTICIPANTS_INFO');
    if (!body.ok) return body.error;
    if (!body.value.state) return 'ignored: not following the room yet';
    const state = decodePublicState(body.value.state);
    if (!state.ok) return `state-${state.error}`;
    const firstBuffered = this.buffer[0]?.seq ?? event.seq;
    if (state.value.seq + 1 < firstBuffered) return 'state-older-than-buffer';
    const pj = state.value.pendingJoiners.find((j) => j.nick === this.nick);
    if (!pj || !this.joinAttempts.has(toHex(pj.eph))) return 'ignored: transfer for someone else';
    // Build the room as of state.seq, check the frame against it, then replay what followed.
    const snapshot = this.snapshotForRollback();
    const imported = this.importState(state.value);
    if (imported !== 'accepted') {
      this.restoreRollback(snapshot);
      return imported;
    }
    const sid = asSid(toHex(frame.sid!));
    const session = this.sessions.get(sid);
    const sender = session?.indexByNick.get(event.nick);
    if (!session || sender === undefined || !session.isJoiner(this.nick)) {
      this.restoreRollback(snapshot);
      return 'state-transfer-mismatch';
    }
    if (!verifyFrame(this.crypto, frame, (session.participants[sender] as Participant).eph)) {
      this.restoreRollback(snapshot);
      return 'bad-signature';
    }
    const replay = this.buffer.filter((e) => e.seq > state.value.seq);
    this.buffer = [];
    this.lastSeq = state.value.seq;
    for (const e of replay) this.onOrdered(e);
    return 'accepted';
  }

  protected snapshotForRollback() {
    return { mode: this.mode, lastSeq: this.lastSeq, effects: this.effects.length };
  }

  protected restoreRollback(s: { mode: Mode; lastSeq: number; effects: number }): void {
    this.effects.length = s.effects;
    this.mode = s.mode;
    this.lastSeq = s.lastSeq;
    this.sessions.clear();
    this.current = null;
    this.previousCurrent = null;
    this.pendingJoiners = [];
    this.pendingLeavers.clear();
    this.accusations.clear();
    this.rekeyRequested = false;
    this.banned = [];
    this.batchJoiners = null;
    this.unbatchable.clear();
  }

  protected importState(state: PublicState): string {
    const participants = state.current.participants.map((p) => ({ ...p, nick: p.nick as Nick }));
    if (state.current.next.length !== participants.length) return 'state-bad-next-keys';
    const sidBytes = state.current.sid;
    const seq = asSeq(state.seq);
    const c = new Session(
      asSid(toHex(sidBytes)),
      sidBytes,
      state.current.parent ? asSid(toHex(state.current.parent)) : null,
      state.current.kind,
      participants,
      null,
      seq,
      0,
    );
    c.status = 'current';
    c.record('current', { kind: 'obsolete', detail: 'current when this client arrived' }, seq, 0);
    state.current.next.forEach((n, i) => (c.confirmed[i] = n));
    this.mode = 'attached';
    this.sessions.set(c.sid, c);
    this.current = c;
    this.pendingJoiners = state.pendingJoiners.map((j) => ({ ...j, nick: j.nick as Nick }));
    this.pendingLeavers = new Set(state.pendingLeavers as Nick[]);
    this.accusations = new Map(
      state.accusations.map(([who, by]) => [who as Nick, new Set(by as Nick[])]),
    );
    this.rekeyRequested = state.rekey;
    this.banned = (state.banned ?? []).map(([nick, lt]) => ({ nick: nick as Nick, lt }));
    this.batchJoiners = state.batch ? (state.batch as Nick[]) : null;
    this.unbatchable = new Set((state.unbatchable ?? []) as Nick[]);
    if (state.previous) {
      // Kept only to verify a LEAVE still in flight under it; we never held its keys.
      const p = state.previous;
      const prev = new Session(
        asSid(toHex(p.sid)),
        p.sid,
        null,
        p.kind,
        p.participants.map((x) => ({ ...x, nick: x.nick as Nick })),
        null,
        seq,
        0,
      );
      prev.status = 'dead';
      prev.record(
        'dead',
        { kind: 'obsolete', detail: 'superseded before this client arrived' },
        seq,
        0,
      );
      this.sessions.set(prev.sid, prev);
      this.previousCurrent = prev;
    }
    this.reconcile(seq, 0, { kind: 'created', detail: 'in limbo when this client arrived' });
    for (const l of state.limbo) {
      const s = this.sessions.get(asSid(toHex(l.sid)));
      if (!s) return 'state-limbo-mismatch';
      for (const [i, next] of l.confirmed) if (i < s.confirmed.length) s.confirmed[i] = next;
      for (const [i, z] of l.shares) if (i < s.shares.length && !s.own) s.shares[i] = z;
      if (l.kcs && !s.own) s.joinerKcs = l.kcs;
      for (const [i, kcs] of l.bkcs ?? []) if (!s.own) s.batchKcs.set(i, kcs);
      for (const [i, kcs] of l.bmkcs ?? []) s.batchMkcs.set(i, kcs);
      for (const [i, k] of l.mkcs ?? []) if (i < s.memberKcs.length) s.memberKcs[i] = k;
    }
    this.setPhase('waiting-for-members', 'following the room');
    return 'accepted';
  }

  protected override exportState(seq: Seq): PublicState {
    const c = this.current as Session;
    return {
      seq,
      current: {
        sid: c.sidBytes,
        kind: c.kind,
        parent: c.parent ? fromHex(c.parent) : null,
        participants: c.participants.map((p) => ({ nick: p.nick, lt: p.lt, eph: p.eph })),
        next: c.confirmed.map((n) => n as Uint8Array),
      },
      previous: this.previousCurrent
        ? {
            sid: this.previousCurrent.sidBytes,
            kind: this.previousCurrent.kind,
            participants: this.previousCurrent.participants.map((p) => ({
              nick: p.nick,
              lt: p.lt,
              eph: p.eph,
            })),
          }
        : null,
      pendingJoiners: this.pendingJoiners.map((j) => ({ ...j })),
      pendingLeavers: [...this.pendingLeavers],
      accusations: [...this.accusations].map(([who, by]) => [who, [...by]] as [string, string[]]),
      rekey: this.rekeyRequested,
      ...(this.banned.length
        ? { banned: this.banned.map((b) => [b.nick, b.lt] as [string, Uint8Array]) }
        : {}),
      ...(this.batchJoiners ? { batch: [...this.batchJoiners] } : {}),
      ...(this.unbatchable.size ? { unbatchable: [...this.unbatchable] } : {}),
      limbo: this.limboOnCurrent().map((s) => ({
        sid: s.sidBytes,
        confirmed: s.confirmed.flatMap((n, i) => (n ? [[i, n] as [number, Uint8Array]] : [])),
        shares: s.shares.flatMap((z, i) => (z ? [[i, z] as [number, Uint8Array]] : [])),
        ...(s.joinerKcs ? { kcs: [...s.joinerKcs] } : {}),
        ...(s.kind === 'batch'
          ? {
              bkcs: [...s.batchKcs].map(([i, k]) => [i, [...k]] as [number, (Uint8Array | null)[]]),
              bmkcs: [...s.batchMkcs].map(
                ([i, k]) => [i, [...k]] as [number, (Uint8Array | null)[]],
              ),
            }
          : {}),
        mkcs: s.memberKcs.flatMap((k, i) => (k ? [[i, k] as [number, Uint8Array]] : [])),
        createdSeq: s.createdSeq,
      })),
    };
  }

  protected attachEmpty(seq: Seq): void {
    this.mode = 'attached';
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** Found a one-person room: the genesis confirmation creates it when it comes back ordered. */
  protected override sendGenesis(): void {
    const eph = this.newJoinEph();
    const self: Participant = { nick: this.nick, lt: this.identity.publicKey, eph: eph.publicKey };
    const sidBytes = deriveSid(this.crypto, null, [self]);
    const own = { nick: this.nick, lt: this.identity, eph };
    const k = tripleDh(this.crypto, own, self);
    const s0 = ringSecret(this.crypto, k, sidBytes);
    const sk = sessionKey(this.crypto, sidBytes, 0, s0, [new Uint8Array(32)]);
    const conf = confirmation(this.crypto, sk, sidBytes, self, EMPTY);
    const next = this.crypto.signKeyPair();
    this.genesisKeys.set(toHex(sidBytes), { eph, sk, next });
    const body = { index: 0, conf, next: next.publicKey, genesis: self };
    this.send(encodeFrame(this.crypto, 'SESSION_CONFIRMATION', sidBytes, body, eph.secretKey));
    this.setPhase('founding-room', 'no one else is here: founding the room');
  }

  protected onGenesisConfirmation(
    frame: ParsedFrame,
    event: Extract<Ordered, { kind: 'message' }>,
  ): string {
    const body = decodeBody(frame, 'SESSION_CONFIRMATION');
    if (!body.ok) return body.error;
    const g = body.value.genesis;
    if (!g) return this.mode === 'attached' ? 'unknown-sid' : 'ignored: not following the room yet';
    if (g.nick !== event.nick) return 'sender-mismatch';
    if (!verifyFrame(this.crypto, frame, g.eph)) return 'bad-signature';
    const participant: Participant = { nick: g.nick as Nick, lt: g.lt, eph: g.eph };
    const sidBytes = deriveSid(this.crypto, null, [participant]);
    if (!bytesEqual(sidBytes, frame.sid!)) return 'sid-mismatch';
    if (this.mode !== 'attached') return 'ignored: not following the room yet';
    if (this.current) return 'ignored: room already has a session';
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
    const keys = this.genesisKeys.get(toHex(sidBytes));
    if (keys && g.nick === this.nick) {
      session.own = this.newOwnPart(0, keys.eph, EMPTY);
      session.own.sk = keys.sk;
      session.own.next = keys.next;
    }
    this.sessions.set(sid, session);
    this.emitSession(session, event.seq);
    this.makeCurrent(session, event.seq, event.at);
    return 'accepted';
  }

  /** No conversation answered: adopt what we saw since arriving and found the room. */
  protected foundAlone(): void {
    const replay = this.buffer;
    this.buffer = [];
    this.attachEmpty(asSeq(0));
    this.lastSeq = 0;
    for (const e of replay) this.onOrdered(e);
    if (!this.current) this.sendGenesis();
  }
}
