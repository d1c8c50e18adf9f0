// The room state machine of docs/PROTOCOL.md section 5, as a sans-I/O step function:
// `handle(input) -> effects`. The engine owns its state object and mutates it in place; given the
// same ordered stream, every honest client computes the same sessions, sids, statuses and winner
// (the determinism rule): only ordered events change session state, while local inputs (timers,
// user commands) may only send messages.
//
// The engine is one class built in layers, one concern per file, each extending the one below:
// engine-base (state, effects) <- engine-keying (shares, tokens, keys, confirmations) <-
// engine-membership (pending lists, the winner, leaves, evictions, rekey) <- engine-joining
// (requests, state transfer, founding) <- engine-chat <- this file (inputs, messages through the
// dispatch.ts table, timers, snapshots). A lower layer reaches a higher one only through the
// abstract methods of engine-base.
import { encodeFrame, MessageType, parseFrame, verifyFrame } from './codec';
import type { DispatchEngine, Incoming } from './dispatch';
import { dispatchRow, participantIn } from './dispatch';
import type { Effect, EngineInput, JoinPhase } from './events';
import type { EngineSnapshot } from './snapshot';
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_VERSION,
  sessionFromSnapshot,
  sessionToSnapshot,
} from './snapshot';
import type { Nick } from './types';
import type { Session } from './session';
import { asSeq, asSid, toHex } from './types';
import type { EngineConfig, Ordered, DropReason } from './engine-base';
import { EMPTY, MAX_BUFFER } from './engine-base';
import { historyNext } from './derive';
import { ChatLayer } from './engine-chat';

/** Message type names by their code on the wire, for the debug log. */
const TYPE_NAMES = new Map<number, string>(
  Object.entries(MessageType).map(([name, code]) => [code, name]),
);

export type { EngineConfig } from './engine-base';

type MessageEvent = Extract<Ordered, { kind: 'message' }>;

export class RoomEngine extends ChatLayer {
  /** The step function. */
  handle(input: EngineInput): Effect[] {
    this.effects = [];
    switch (input.kind) {
      case 'joined':
      case 'left':
      case 'message':
        this.onOrdered(input);
        break;
      case 'timer':
        this.onTimer(input.key, input.at);
        break;
      case 'send-chat':
        this.sendChat(input.text, input.id, input.attachment);
        break;
      case 'leave':
        this.sendLeave();
        break;
      case 'rekey':
        this.sendRekey();
        break;
      case 'restored':
        this.rearmTimers();
        this.announceRestored();
        break;
      default: {
        const never: never = input;
        throw new Error(`unknown input ${String(never)}`);
      }
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  /**
   * What `handle` would check this frame's signature against if it arrived now: the signature,
   * the signed bytes and the sender's ephemeral key in the frame's session. Null when the
   * engine would not get as far (not following the room, unknown session or sender, malformed
   * bytes), when the frame is a JOIN_REQUEST (its key travels in its own body), or when it is
   * one this engine signed. A pure lookup: hosts use it to verify signatures ahead of the engine
   * on another thread (`Crypto.acceptVerified`); a wrong guess only costs that extra work,
   * since the engine's own check still needs the very same three values.
   */
  signerFor(
    nick: Nick,
    data: Uint8Array,
  ): { signature: Uint8Array; message: Uint8Array; publicKey: Uint8Array } | null {
    if (this.mode !== 'attached') return null;
    const parsed = parseFrame(data);
    if (!parsed.ok || dispatchRow(parsed.value.type).sender === 'named-in-body') return null;
    const frame = parsed.value;
    if (this.crypto.isOwnSignature(frame.signature)) return null;
    const session = this.sessions.get(asSid(toHex(frame.sid as Uint8Array)));
    const participant = session && participantIn(session, nick);
    if (!participant) return null;
    return { signature: frame.signature, message: frame.signed, publicKey: participant.eph };
  }

  /** Everything needed to resume after a crash, secrets included (the store encrypts it). */
  toSnapshot(): Uint8Array {
    const snapshot: EngineSnapshot = {
      version: SNAPSHOT_VERSION,
      nick: this.nick,
      mode: this.mode,
      sessions: [...this.sessions.values()].map(sessionToSnapshot),
      current: this.current?.sid ?? null,
      draining: this.draining?.sid ?? null,
      previousCurrent: this.previousCurrent?.sid ?? null,
      pendingJoiners: this.pendingJoiners.map((j) => ({ ...j })),
      pendingLeavers: [...this.pendingLeavers],
      accusations: [...this.accusations].map(([who, by]) => [who, [...by]] as [string, string[]]),
      rekeyRequested: this.rekeyRequested,
      presence: [...this.presence],
      lastSeq: this.lastSeq,
      joinAttempts: [...this.joinAttempts.values()],
      joinRetries: this.joinRetries,
      sawConversation: this.sawConversation,
      buffer: this.buffer.map((e) => ({ ...e })),
      phase: this.phase,
      genesisKeys: [...this.genesisKeys],
      history: this.history,
      held: this.held.map((h) => ({ ...h })),
      burned: [...this.burned],
      banned: this.banned.map((b) => ({ nick: b.nick, lt: b.lt })),
      ...(this.batchJoiners ? { batchJoiners: [...this.batchJoiners] } : {}),
      ...(this.unbatchable.size ? { unbatchable: [...this.unbatchable] } : {}),
      ...(this.blame
        ? {
            blame: {
              ...this.blame,
              participants: this.blame.participants.map((p) => ({ ...p })),
              revealed: [...this.blame.revealed],
            },
          }
        : {}),
    };
    return encodeSnapshot(snapshot);
  }

  /** Rebuild an engine from `toSnapshot()` bytes; then feed it `{ kind: 'restored' }`. */
  static fromSnapshot(config: EngineConfig, bytes: Uint8Array): RoomEngine {
    const x = decodeSnapshot(bytes);
    if (x.nick !== config.nick) throw new Error(`snapshot is for ${x.nick}, not ${config.nick}`);
    const engine = new RoomEngine(config);
    engine.mode = x.mode;
    for (const s of x.sessions) engine.sessions.set(asSid(s.sid), sessionFromSnapshot(s));
    engine.current = x.current ? (engine.sessions.get(asSid(x.current)) ?? null) : null;
    engine.draining = x.draining ? (engine.sessions.get(asSid(x.draining)) ?? null) : null;
    engine.previousCurrent = x.previousCurrent
      ? (engine.sessions.get(asSid(x.previousCurrent)) ?? null)
      : null;
    engine.pendingJoiners = x.pendingJoiners.map((j) => ({ ...j, nick: j.nick as Nick }));
    engine.pendingLeavers = new Set(x.pendingLeavers as Nick[]);
    engine.accusations = new Map(
      x.accusations.map(([w, by]) => [w as Nick, new Set(by as Nick[])]),
    );
    engine.rekeyRequested = x.rekeyRequested;
    for (const p of x.presence) engine.presence.add(p as Nick);
    engine.lastSeq = x.lastSeq;
    for (const kp of x.joinAttempts) engine.joinAttempts.set(toHex(kp.publicKey), kp);
    engine.joinRetries = x.joinRetries;
    engine.sawConversation = x.sawConversation;
    engine.buffer = x.buffer.map(
      (e) => ({ ...e, seq: asSeq(e.seq), nick: e.nick as Nick }) as Ordered,
    );
    engine.phase = x.phase as JoinPhase;
    for (const [k, g] of x.genesisKeys) engine.genesisKeys.set(k, g);
    engine.history = x.history ?? EMPTY;
    engine.held = (x.held ?? []).map((h) => (h.id === undefined ? { text: h.text } : { ...h }));
    engine.burned = new Set((x.burned ?? []) as Nick[]);
    engine.banned = (x.banned ?? []).map((b) => ({ nick: b.nick as Nick, lt: b.lt }));
    engine.batchJoiners = x.batchJoiners ? (x.batchJoiners as Nick[]) : null;
    engine.unbatchable = new Set((x.unbatchable ?? []) as Nick[]);
    if (x.blame) {
      const b = x.blame;
      engine.blame = {
        ...b,
        sid: asSid(b.sid),
        participants: b.participants.map((p) => ({ ...p, nick: p.nick as Nick })),
        joiner: b.joiner as Nick | null,
        joiners: b.joiners as Nick[] | undefined,
        vetoer: b.vetoer as Nick | null,
        accused: (b.accused ?? b.joiner) as Nick | null,
        memberKcs: b.memberKcs ?? [],
        need: b.need as Nick[],
        revealed: new Map(b.revealed.map(([n, s]) => [n as Nick, s])),
      };
    }
    return engine;
  }

  /**
   * After a restart, say where we stand without being asked: every session that is not dead,
   * marked restored, and the join phase (the host adds its connection phase).
   */
  protected announceRestored(): void {
    const seq = asSeq(this.lastSeq);
    for (const s of this.sessions.values()) if (s.status !== 'dead') this.emitSession(s, seq, true);
    this.emit({ type: 'join-phase', phase: this.phase, detail: 'restored' });
  }

  protected rearmTimers(): void {
    if (!this.isMember && this.mode !== 'gone' && this.phase !== 'left') {
      this.arm('join-retry', this.joinRetryMs);
    }
    for (const s of this.limboOnCurrent()) {
      if (s.deferred) this.arm(`stall:${s.sid}`, this.stallMs);
      if (s.kind === 'batch' && s.own && !s.stalled)
        this.arm(`batch-stall:${s.sid}`, this.batchStallMs(s));
      if (s.own && this.current?.indexByNick.has(this.nick))
        this.arm(`limbo:${s.sid}`, this.limboTimeoutMs);
    }
    if (this.draining) this.arm(`drain:${this.draining.sid}`, this.drainMs);
    if (this.isMember && this.rekeyIntervalMs > 0) this.arm('rekey', this.rekeyIntervalMs);
    if (this.blame && this.isMember) this.arm(`reveal:${this.blame.sid}`, this.limboTimeoutMs);
  }

  protected override onOrdered(event: Ordered): void {
    if (event.seq <= this.lastSeq) return; // replayed by the host: already applied
    if (this.mode !== 'idle' && this.lastSeq > 0 && event.seq !== this.lastSeq + 1) {
      // Never process past a gap: the host must resume from lastSeq (its link does).
      this.warn(
        'seq-gap',
        `events ${this.lastSeq + 1}..${event.seq - 1} are missing; waiting for the relay to resend them`,
        event.seq,
      );
      return;
    }
    this.lastSeq = event.seq;
    if (this.mode === 'attached') {
      this.history = historyNext(
        this.crypto,
        this.history,
        event.seq,
        event.kind,
        event.nick,
        event.kind === 'message' ? event.data : EMPTY,
      );
    }
    if (this.mode === 'detached' || this.mode === 'idle') {
      if (event.kind !== 'joined' || event.nick !== this.nick) this.pushBuffer(event);
    }
    // A member's frame closes the batch window (docs/PROTOCOL.md "Batch admission", rule B1):
    // who may join the batch is read before the frame applies, the batch forms after it.
    const candidates = this.batchTrigger(event) ? this.batchCandidates() : null;
    const outcome = this.applyOrdered(event);
    if (candidates) this.formBatch(candidates, event.seq, event.at);
    this.emit({
      type: 'log',
      seq: event.seq,
      eventType: event.kind === 'message' ? this.typeName(event.data) : event.kind,
      size: event.kind === 'message' ? event.data.length : 0,
      outcome,
    });
    if (outcome !== 'accepted') {
      if (event.kind === 'message' && !outcome.startsWith('ignored')) {
        this.warn(
          'dropped-invalid-message',
          `seq ${event.seq} from ${event.nick}: ${outcome}`,
          event.seq,
        );
      }
    }
    this.effects.push({ type: 'persist', seq: event.seq });
  }

  /** Any ordered frame but a JOIN_REQUEST from a member of the current session (not leaving). */
  protected batchTrigger(event: Ordered): boolean {
    if (this.mode !== 'attached' || event.kind !== 'message') return false;
    const c = this.current;
    if (!c?.indexByNick.has(event.nick) || this.pendingLeavers.has(event.nick)) return false;
    return event.data[1] !== MessageType.JOIN_REQUEST;
  }

  protected typeName(data: Uint8Array): string {
    return TYPE_NAMES.get(data[1] as number) ?? 'unknown';
  }

  protected pushBuffer(event: Ordered): void {
    this.buffer.push(event);
    if (this.buffer.length > MAX_BUFFER) this.buffer.shift();
  }

  protected applyOrdered(event: Ordered): string {
    switch (event.kind) {
      case 'joined':
        return this.onJoined(event);
      case 'left':
        this.presence.delete(event.nick);
        if (this.mode === 'detached') {
          // Someone left: the conversation we saw may have ended with them. Only evidence seen
          // from now on counts, so unanswered requests may found the room (PROTOCOL.md rule 5).
          this.sawConversation = false;
          this.joinRetries = 0;
        }
        if (this.mode !== 'attached') return 'accepted';
        this.departure(event.nick, 'disconnected', event.seq, event.at);
        return 'accepted';
      case 'message':
        return this.onMessage(event);
    }
  }

  protected onJoined(event: Extract<Ordered, { kind: 'joined' }>): string {
    this.presence.add(event.nick);
    if (event.nick !== this.nick || this.mode !== 'idle') return 'accepted';
    for (const m of event.membersBefore ?? []) this.presence.add(m);
    const others = (event.membersBefore ?? []).filter((m) => m !== this.nick);
    if (others.length === 0) {
      this.attachEmpty(event.seq);
      this.sendGenesis();
    } else {
      this.mode = 'detached';
      this.sendJoinRequest();
    }
    return 'accepted';
  }

  /** An ordered message: parsed, then its dispatch.ts row's checks in order, then its handler. */
  protected onMessage(event: MessageEvent): DropReason {
    const parsed = parseFrame(event.data);
    if (!parsed.ok) return parsed.error;
    const row = dispatchRow(parsed.value.type);
    if (row.showsConversation) this.sawConversation = true;
    const incoming: Incoming = { event, frame: parsed.value };
    for (const check of row.checks) {
      const stopped = check.run(this.dispatchView, incoming);
      if (stopped !== undefined) return stopped;
    }
    return row.handle(this.dispatchView, incoming);
  }

  /** What the dispatch table reads of this engine and calls on it. */
  private readonly dispatchView: DispatchEngine = {
    attached: () => this.mode === 'attached',
    session: (sid) => this.sessions.get(sid),
    previousCurrent: () => this.previousCurrent,
    verify: (frame, publicKey) => verifyFrame(this.crypto, frame, publicKey),
    onJoinRequest: (frame, event) => this.onJoinRequest(frame, event),
    onReveal: (frame, event) => this.onReveal(frame, event),
    onGenesisConfirmation: (frame, event) => this.onGenesisConfirmation(frame, event),
    tryAttach: (frame, event) => this.tryAttach(frame, event),
    onContribution: (session, index, z, event, extra) =>
      this.onContribution(session, index, z, event, extra),
    onJoinerAuth: (session, index, body, event) => this.onJoinerAuth(session, index, body, event),
    onConfirmation: (session, index, body, event) =>
      this.onConfirmation(session, index, body, event),
    onChat: (session, index, body, frame, event) => this.onChat(session, index, body, frame, event),
    onLeave: (session, event) => this.onLeave(session, event),
    onRekey: (session, event) => this.onRekey(session, event),
    onTimeout: (session, body, event) => this.onTimeout(session, body, event),
  };

  /**
   * A LEAVE signed in the previous session was in flight across a session change: the wish to
   * leave still stands as long as the sender is a member of the current one.
   */
  protected onLeave(session: Session, event: MessageEvent): DropReason {
    if (session !== this.current && session !== this.previousCurrent) {
      return 'not-current-session';
    }
    if (!this.current?.indexByNick.has(event.nick)) return 'ignored: not a member';
    if (this.pendingLeavers.has(event.nick)) return 'ignored: already leaving';
    this.departure(event.nick, 'left', event.seq, event.at);
    return 'accepted';
  }

  protected onTimer(key: string, at: number): void {
    void at;
    if (key === 'join-retry') {
      if (this.mode === 'gone' || this.isMember) return;
      const candidate = [...this.sessions.values()].some(
        (s) => s.status === 'in-limbo' && s.joiner === this.nick,
      );
      if (candidate) {
        this.arm('join-retry', this.joinRetryMs);
        return;
      }
      this.joinRetries++;
      if (
        this.mode === 'detached' &&
        !this.sawConversation &&
        this.joinRetries >= this.soloAfterRetries
      ) {
        this.foundAlone();
        return;
      }
      this.sendJoinRequest();
      return;
    }
    if (key.startsWith('limbo:')) {
      const session = this.sessions.get(asSid(key.slice(6)));
      if (!session || session.status !== 'in-limbo' || session.parent !== this.current?.sid) return;
      // Missing shares are attributable; missing confirmations are not when the shares did not
      // add up (everyone refused to confirm), so then nobody is accused for them.
      const sharesIn = session.allShares();
      const blameConfirmations = sharesIn && !session.own?.inconsistent;
      const missing = session.participants
        .filter((p) => p.nick !== this.nick)
        .filter((p) => {
          const i = session.indexByNick.get(p.nick) as number;
          return !session.shares[i] || (blameConfirmations && !session.confirmed[i]);
        })
        .map((p) => p.nick);
      this.sendTimeout(session, missing, false);
      this.arm(key, this.limboTimeoutMs);
      return;
    }
    if (key.startsWith('reveal:')) {
      this.onRevealTimer(key);
      return;
    }
    if (key.startsWith('stall:')) {
      // The front session is taking long (a slow or silent joiner): contribute to this one too,
      // so that one joiner never holds the others back.
      const session = this.sessions.get(asSid(key.slice(6)));
      if (
        session?.deferred &&
        session.status === 'in-limbo' &&
        session.parent === this.current?.sid
      ) {
        const front = this.frontJoinSession();
        if (front?.joiner && front !== session) {
          this.slowJoiners.add(front.joiner);
          if (this.slowJoiners.size > 256)
            this.slowJoiners.delete(this.slowJoiners.values().next().value as Nick);
        }
        this.contribute(session, asSeq(this.lastSeq));
        // The new front (the next joiner that is not slow) goes ahead now, not a stall later.
        const next = this.frontJoinSession();
        if (next?.deferred) this.contribute(next, asSeq(this.lastSeq));
      }
      return;
    }
    if (key.startsWith('batch-stall:')) {
      this.onBatchStall(key.slice('batch-stall:'.length));
      return;
    }
    if (key.startsWith('drain:')) {
      // The one local exception: ending the drain only limits what this client can decrypt.
      const session = this.sessions.get(asSid(key.slice(6)));
      if (session && session === this.draining) {
        this.kill(session, { kind: 'draining-ended' }, asSeq(this.lastSeq), at);
        this.draining = null;
      }
      return;
    }
    if (key === 'rekey') {
      if (this.isMember && this.limboOnCurrent().length === 0) this.sendRekey();
      if (this.rekeyIntervalMs > 0) this.arm('rekey', this.rekeyIntervalMs);
    }
  }

  /**
   * Our batch timer fired before the batch was confirmed: report its silent joiners (members
   * only), so that the batch forms again without them at that ordered event, and let the
   * one-joiner sessions go ahead meanwhile (rule B4). A local decision, like the stall timer.
   */
  protected onBatchStall(sid: string): void {
    const batch = this.sessions.get(asSid(sid));
    if (!batch || batch.kind !== 'batch' || batch.status !== 'in-limbo') return;
    if (batch.parent !== this.current?.sid || batch.stalled) return;
    batch.stalled = true;
    const sharesIn = batch.allShares();
    const silent = batch.joiners.filter((n) => {
      const i = batch.indexByNick.get(n) as number;
      return !batch.shares[i] || (sharesIn && !batch.confirmed[i]);
    });
    for (const n of silent) this.slowJoiners.add(n);
    this.sendTimeout(batch, silent, false, true);
    const seq = asSeq(this.lastSeq);
    this.releaseBatchHolds(seq);
    const front = this.frontJoinSession();
    if (front?.deferred) this.contribute(front, seq);
  }

  protected sendLeave(): void {
    const c = this.current;
    const own = c?.own;
    if (c && own && this.isMember) {
      this.send(
        encodeFrame(this.crypto, 'LEAVE', c.sidBytes, { index: own.index }, own.eph.secretKey),
      );
    }
    this.mode = this.isMember ? this.mode : 'gone';
  }

  protected sendRekey(): void {
    const c = this.current;
    const own = c?.own;
    if (!c || !own || !this.isMember) return;
    this.send(
      encodeFrame(this.crypto, 'REKEY', c.sidBytes, { index: own.index }, own.eph.secretKey),
    );
  }
}
