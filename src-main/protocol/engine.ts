// The room state machine of docs/PROTOCOL.md section 5, as a sans-I/O step function:
// `handle(input) -> effects`. The engine owns its state object and mutates it in place; given the
// same ordered stream, every honest client computes the same sessions, sids, statuses and winner
// (the determinism rule): only ordered events change session state, while local inputs (timers,
// user commands) may only send messages.
import type { Crypto } from './crypto';
import { CryptoError } from './crypto';
import type { Body, ParsedFrame, VerifiedFrame } from './codec';
import {
  chatPlainSchema,
  decodeBody,
  decodeMsgpack,
  encodeFrame,
  encodeMsgpack,
  MessageType,
  parseFrame,
  PROTOCOL_VERSION,
  verifyFrame,
} from './codec';
import {
  authToken,
  confirmation,
  deriveSid,
  fingerprint,
  messageKey,
  ringSecret,
  sessionKey,
  sortParticipants,
  transcriptNext,
  transcriptStart,
  tripleDh,
  xor,
} from './derive';
import type { AppEvent, Effect, EngineInput, JoinPhase, SessionKind, WarningCode } from './events';
import type { OwnPart } from './session';
import { Session } from './session';
import type { EngineSnapshot } from './snapshot';
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_VERSION,
  sessionFromSnapshot,
  sessionToSnapshot,
} from './snapshot';
import type { PublicState } from './state-transfer';
import { decodePublicState, encodePublicState } from './state-transfer';
import type { TransitionReason } from './transitions';
import type { Nick, Participant, Seq, SignKeyPair, Sid } from './types';
import { asSeq, asSid, bytesEqual, fromHex, toHex } from './types';

export interface EngineConfig {
  nick: Nick;
  identity: SignKeyPair;
  crypto: Crypto;
  /** How long an in-limbo session may wait for contributions before members accuse. */
  limboTimeoutMs?: number;
  /** How long a joiner waits for a candidate before re-sending JOIN_REQUEST. */
  joinRetryMs?: number;
  /** Unanswered requests, with no conversation seen, before founding the room alone. */
  soloAfterRetries?: number;
  /** Keys older than this are replaced by a rekey (0 disables). */
  rekeyIntervalMs?: number;
  /** How long the previous current session still decrypts late messages. */
  drainMs?: number;
}

type Mode = 'idle' | 'detached' | 'attached' | 'gone';

interface PendingJoiner {
  nick: Nick;
  lt: Uint8Array;
  eph: Uint8Array;
  seq: number;
}

type Ordered = Extract<EngineInput, { seq: Seq }>;
type DropReason = string;

const EMPTY = new Uint8Array(0);
const MAX_BUFFER = 20_000;
const MAX_DEAD_SESSIONS = 64;

export class RoomEngine {
  readonly nick: Nick;
  private readonly crypto: Crypto;
  private readonly identity: SignKeyPair;
  private readonly limboTimeoutMs: number;
  private readonly joinRetryMs: number;
  private readonly soloAfterRetries: number;
  private readonly rekeyIntervalMs: number;
  private readonly drainMs: number;

  private mode: Mode = 'idle';
  readonly sessions = new Map<Sid, Session>();
  current: Session | null = null;
  private draining: Session | null = null;
  private pendingJoiners: PendingJoiner[] = [];
  private pendingLeavers = new Set<Nick>();
  private accusations = new Map<Nick, Set<Nick>>();
  private rekeyRequested = false;
  readonly presence = new Set<Nick>();
  private lastSeq = 0;

  // Joiner bookkeeping.
  private readonly joinAttempts = new Map<string, SignKeyPair>();
  private joinRetries = 0;
  private sawConversation = false;
  /** Nicks present when we arrived that have not left since: who could admit us. */
  private possibleMembers = new Set<Nick>();
  private buffer: Ordered[] = [];
  private phase: JoinPhase = 'requesting';

  private effects: Effect[] = [];

  constructor(readonly config: EngineConfig) {
    this.nick = config.nick;
    this.crypto = config.crypto;
    this.identity = config.identity;
    this.limboTimeoutMs = config.limboTimeoutMs ?? 30_000;
    this.joinRetryMs = config.joinRetryMs ?? 10_000;
    this.soloAfterRetries = config.soloAfterRetries ?? 3;
    this.rekeyIntervalMs = config.rekeyIntervalMs ?? 0;
    this.drainMs = config.drainMs ?? 60_000;
  }

  get isMember(): boolean {
    return this.current?.indexByNick.has(this.nick) === true && this.mode === 'attached';
  }

  get joinPhase(): JoinPhase {
    return this.phase;
  }

  get lastProcessedSeq(): number {
    return this.lastSeq;
  }

  get pending(): { joiners: Nick[]; leavers: Nick[] } {
    return { joiners: this.pendingJoiners.map((j) => j.nick), leavers: [...this.pendingLeavers] };
  }

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
        this.sendChat(input.text);
        break;
      case 'leave':
        this.sendLeave();
        break;
      case 'rekey':
        this.sendRekey();
        break;
      case 'restored':
        this.rearmTimers();
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

  // ---- snapshots ---------------------------------------------------------------------------

  /** Everything needed to resume after a crash, secrets included (the store encrypts it). */
  toSnapshot(): Uint8Array {
    const snapshot: EngineSnapshot = {
      version: SNAPSHOT_VERSION,
      nick: this.nick,
      mode: this.mode,
      sessions: [...this.sessions.values()].map(sessionToSnapshot),
      current: this.current?.sid ?? null,
      draining: this.draining?.sid ?? null,
      pendingJoiners: this.pendingJoiners.map((j) => ({ ...j })),
      pendingLeavers: [...this.pendingLeavers],
      accusations: [...this.accusations].map(([who, by]) => [who, [...by]] as [string, string[]]),
      rekeyRequested: this.rekeyRequested,
      presence: [...this.presence],
      lastSeq: this.lastSeq,
      joinAttempts: [...this.joinAttempts.values()],
      joinRetries: this.joinRetries,
      sawConversation: this.sawConversation,
      possibleMembers: [...this.possibleMembers],
      buffer: this.buffer.map((e) => ({ ...e })),
      phase: this.phase,
      genesisKeys: [...this.genesisKeys],
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
    engine.possibleMembers = new Set(x.possibleMembers as Nick[]);
    engine.buffer = x.buffer.map(
      (e) => ({ ...e, seq: asSeq(e.seq), nick: e.nick as Nick }) as Ordered,
    );
    engine.phase = x.phase as JoinPhase;
    for (const [k, g] of x.genesisKeys) engine.genesisKeys.set(k, g);
    return engine;
  }

  private rearmTimers(): void {
    if (!this.isMember && this.mode !== 'gone' && this.phase !== 'left') {
      this.arm('join-retry', this.joinRetryMs);
    }
    for (const s of this.limboOnCurrent()) {
      if (s.own && this.current?.indexByNick.has(this.nick))
        this.arm(`limbo:${s.sid}`, this.limboTimeoutMs);
    }
    if (this.draining) this.arm(`drain:${this.draining.sid}`, this.drainMs);
    if (this.isMember && this.rekeyIntervalMs > 0) this.arm('rekey', this.rekeyIntervalMs);
  }

  // ---- ordered events -----------------------------------------------------------------------

  private onOrdered(event: Ordered): void {
    if (event.seq <= this.lastSeq) return; // replayed by the host: already applied
    this.lastSeq = event.seq;
    if (this.mode === 'detached' || this.mode === 'idle') {
      if (event.kind !== 'joined' || event.nick !== this.nick) this.pushBuffer(event);
    }
    const outcome = this.applyOrdered(event);
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

  private typeName(data: Uint8Array): string {
    const code = data[1];
    const entry = Object.entries(MessageType).find(([, c]) => c === code);
    return entry ? entry[0] : 'unknown';
  }

  private pushBuffer(event: Ordered): void {
    this.buffer.push(event);
    if (this.buffer.length > MAX_BUFFER) this.buffer.shift();
  }

  private applyOrdered(event: Ordered): string {
    switch (event.kind) {
      case 'joined':
        return this.onJoined(event);
      case 'left':
        this.presence.delete(event.nick);
        if (this.possibleMembers.delete(event.nick) && this.possibleMembers.size === 0) {
          // Everyone who could have been a member when we arrived is gone: what we saw of a
          // conversation no longer counts, and unanswered requests may now found the room.
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

  private onJoined(event: Extract<Ordered, { kind: 'joined' }>): string {
    this.presence.add(event.nick);
    if (event.nick !== this.nick || this.mode !== 'idle') return 'accepted';
    for (const m of event.membersBefore ?? []) this.presence.add(m);
    const others = (event.membersBefore ?? []).filter((m) => m !== this.nick);
    this.possibleMembers = new Set(others);
    if (others.length === 0) {
      this.attachEmpty(event.seq);
      this.sendGenesis();
    } else {
      this.mode = 'detached';
      this.sendJoinRequest();
    }
    return 'accepted';
  }

  private onMessage(event: Extract<Ordered, { kind: 'message' }>): DropReason {
    const parsed = parseFrame(event.data);
    if (!parsed.ok) return parsed.error;
    const frame = parsed.value;
    if (frame.type !== 'JOIN_REQUEST') this.sawConversation = true;
    if (frame.type === 'JOIN_REQUEST') return this.onJoinRequest(frame, event);
    if (frame.type === 'SESSION_CONFIRMATION' && !this.sessions.has(asSid(toHex(frame.sid!)))) {
      return this.onGenesisConfirmation(frame, event);
    }
    if (this.mode !== 'attached') {
      if (frame.type === 'PARTICIPANTS_INFO') return this.tryAttach(frame, event);
      return 'ignored: not following the room yet';
    }
    const sid = asSid(toHex(frame.sid!));
    const session = this.sessions.get(sid);
    if (!session) return 'unknown-sid';
    const index = session.indexByNick.get(event.nick);
    if (index === undefined) return 'sender-not-participant';
    const participant = session.participants[index] as Participant;
    const verified = verifyFrame(this.crypto, frame, participant.eph);
    if (!verified) return 'bad-signature';
    if (session.status === 'dead') return 'ignored: dead session';
    switch (verified.type) {
      case 'PARTICIPANTS_INFO':
        return this.withBody(verified, 'PARTICIPANTS_INFO', index, (b) =>
          this.onContribution(session, index, b.z, event, { kc: b.kc, parent: b.parent }),
        );
      case 'GROUP_SHARE':
        return this.withBody(verified, 'GROUP_SHARE', index, (b) =>
          this.onContribution(session, index, b.z, event, { parent: b.parent }),
        );
      case 'JOINER_AUTH':
        return this.withBody(verified, 'JOINER_AUTH', index, (b) =>
          this.onJoinerAuth(session, index, b, event),
        );
      case 'SESSION_CONFIRMATION':
        return this.withBody(verified, 'SESSION_CONFIRMATION', index, (b) =>
          this.onConfirmation(session, index, b, event),
        );
      case 'CHAT':
        return this.withBody(verified, 'CHAT', index, (b) =>
          this.onChat(session, index, b, verified, event),
        );
      case 'LEAVE':
        return this.withBody(verified, 'LEAVE', index, () => {
          // A LEAVE signed in the previous session was in flight across a session change: the
          // wish to leave still stands as long as the sender is a member of the current one.
          if (session !== this.current && session !== this.draining) return 'not-current-session';
          if (!this.current?.indexByNick.has(event.nick)) return 'ignored: not a member';
          if (this.pendingLeavers.has(event.nick)) return 'ignored: already leaving';
          this.departure(event.nick, 'left', event.seq, event.at);
          return 'accepted';
        });
      case 'REKEY':
        return this.withBody(verified, 'REKEY', index, () => this.onRekey(session, event));
      case 'TIMEOUT':
        return this.withBody(verified, 'TIMEOUT', index, (b) => this.onTimeout(session, b, event));
      default:
        return 'unexpected-type';
    }
  }

  private withBody<T extends keyof typeof MessageType>(
    frame: VerifiedFrame,
    type: T,
    index: number,
    apply: (body: Body<T>) => string,
  ): string {
    const body = decodeBody(frame, type);
    if (!body.ok) return body.error;
    if ((body.value as { index: number }).index !== index) return 'sender-index-mismatch';
    return apply(body.value);
  }

  // ---- joining --------------------------------------------------------------------------------

  private newJoinEph(): SignKeyPair {
    const eph = this.crypto.signKeyPair();
    this.joinAttempts.set(toHex(eph.publicKey), eph);
    return eph;
  }

  private sendJoinRequest(): void {
    const eph = this.newJoinEph();
    const body = { nick: this.nick, lt: this.identity.publicKey, eph: eph.publicKey };
    this.send(encodeFrame(this.crypto, 'JOIN_REQUEST', null, body, eph.secretKey));
    this.setPhase('requesting', 'join request sent');
    this.arm('join-retry', this.joinRetryMs);
  }

  private onJoinRequest(frame: ParsedFrame, event: Extract<Ordered, { kind: 'message' }>): string {
    const body = decodeBody(frame, 'JOIN_REQUEST');
    if (!body.ok) return body.error;
    if (body.value.nick !== event.nick) return 'sender-mismatch';
    if (!verifyFrame(this.crypto, frame, body.value.eph)) return 'bad-signature';
    if (this.mode !== 'attached') return 'accepted';
    if (this.current?.indexByNick.has(event.nick) && !this.pendingLeavers.has(event.nick)) {
      return 'ignored: already a member';
    }
    if (this.pendingJoiners.some((j) => j.nick === event.nick)) return 'ignored: duplicate request';
    this.pendingJoiners.push({ ...body.value, nick: event.nick, seq: event.seq });
    this.reconcile(event.seq, event.at, { kind: 'created', detail: `join of ${event.nick}` });
    return 'accepted';
  }

  /** The sponsor's state transfer turns a detached joiner into an observer of the room. */
  private tryAttach(frame: ParsedFrame, event: Extract<Ordered, { kind: 'message' }>): string {
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
    if (!session || sender === undefined || session.joiner !== this.nick) {
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

  private snapshotForRollback() {
    return { mode: this.mode, lastSeq: this.lastSeq, effects: this.effects.length };
  }

  private restoreRollback(s: { mode: Mode; lastSeq: number; effects: number }): void {
    this.effects.length = s.effects;
    this.mode = s.mode;
    this.lastSeq = s.lastSeq;
    this.sessions.clear();
    this.current = null;
    this.pendingJoiners = [];
    this.pendingLeavers.clear();
    this.accusations.clear();
    this.rekeyRequested = false;
  }

  private importState(state: PublicState): string {
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
    this.reconcile(seq, 0, { kind: 'created', detail: 'in limbo when this client arrived' });
    for (const l of state.limbo) {
      const s = this.sessions.get(asSid(toHex(l.sid)));
      if (!s) return 'state-limbo-mismatch';
      for (const [i, next] of l.confirmed) if (i < s.confirmed.length) s.confirmed[i] = next;
      for (const i of l.shares) if (i < s.shares.length && !s.own) s.shares[i] = EMPTY;
    }
    this.setPhase('waiting-for-members', 'following the room');
    return 'accepted';
  }

  private exportState(seq: Seq): PublicState {
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
      pendingJoiners: this.pendingJoiners.map((j) => ({ ...j })),
      pendingLeavers: [...this.pendingLeavers],
      accusations: [...this.accusations].map(([who, by]) => [who, [...by]] as [string, string[]]),
      rekey: this.rekeyRequested,
      limbo: this.limboOnCurrent().map((s) => ({
        sid: s.sidBytes,
        confirmed: s.confirmed.flatMap((n, i) => (n ? [[i, n] as [number, Uint8Array]] : [])),
        shares: s.shares.flatMap((z, i) => (z ? [i] : [])),
        createdSeq: s.createdSeq,
      })),
    };
  }

  private attachEmpty(seq: Seq): void {
    this.mode = 'attached';
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** Found a one-person room: the genesis confirmation creates it when it comes back ordered. */
  private sendGenesis(): void {
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

  private readonly genesisKeys = new Map<
    string,
    { eph: SignKeyPair; sk: Uint8Array; next: SignKeyPair }
  >();

  private onGenesisConfirmation(
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

  // ---- session construction -------------------------------------------------------------------

  private limboOnCurrent(): Session[] {
    const c = this.current;
    if (!c) return [];
    return [...this.sessions.values()].filter((s) => s.status === 'in-limbo' && s.parent === c.sid);
  }

  /** The sessions that should be in limbo on the current session, from the pending lists. */
  private desiredSessions(): {
    kind: SessionKind;
    joiner: PendingJoiner | null;
    list: Participant[];
  }[] {
    const c = this.current;
    if (!c) return [];
    const base: Participant[] = [];
    c.participants.forEach((p, i) => {
      const next = c.confirmed[i];
      if (!this.pendingLeavers.has(p.nick) && next)
        base.push({ nick: p.nick, lt: p.lt, eph: next });
    });
    if (base.length === 0) return [];
    const out: { kind: SessionKind; joiner: PendingJoiner | null; list: Participant[] }[] = [];
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
  private reconcile(seq: Seq, at: number, why: TransitionReason): void {
    const c = this.current;
    if (!c) return;
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
      );
      session.record('in-limbo', { kind: 'created', detail }, seq, at);
      this.sessions.set(sid, session);
      this.emitSession(session, seq);
      if (d.joiner) this.emit({ type: 'member-joining', nick: d.joiner.nick, sid, seq });
      this.startParticipating(session, seq);
    }
    this.pruneDead();
  }

  private newOwnPart(index: number, eph: SignKeyPair, parentTranscript: Uint8Array): OwnPart {
    return {
      index,
      eph,
      ringSecret: EMPTY,
      pairKeys: new Map<number, Uint8Array>(),
      tokensOk: new Set<number>(),
      parentTranscript,
      sk: null,
      next: null,
      chain: [],
      sendCounter: 0,
      seenChat: new Set<string>(),
      mismatched: new Set<Nick>(),
      inconsistent: false,
    };
  }

  /** Our own key material for a new session we take part in, and our first contribution. */
  private startParticipating(session: Session, seq: Seq): void {
    const index = session.indexByNick.get(this.nick);
    if (index === undefined) return;
    const c = this.current as Session;
    const isJoiner = session.joiner === this.nick;
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
    const parentTranscript = isJoiner ? EMPTY : this.transcriptHead(c);
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
      if (session.kind === 'join' && !isJoiner) {
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
      if (c.indexByNick.has(this.nick) && !isJoiner)
        this.arm(`limbo:${session.sid}`, this.limboTimeoutMs);
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      this.warn(
        'dropped-invalid-message',
        `cannot key session ${session.sid.slice(0, 12)}: ${error.message}`,
        seq,
      );
    }
  }

  private pairKey(session: Session, peerIndex: number): Uint8Array {
    const own = session.own as NonNullable<Session['own']>;
    let k = own.pairKeys.get(peerIndex);
    if (!k) {
      const peer = session.participants[peerIndex] as Participant;
      // Sibling sessions on one parent reuse everyone's next ephemeral key, so the same pair
      // key serves all of them: compute it once (each session keeps its own copy to wipe).
      const cacheKey = `${toHex(own.eph.publicKey)}|${peer.nick}|${toHex(peer.lt)}|${toHex(peer.eph)}`;
      let shared = this.pairKeyCache.get(cacheKey);
      if (!shared) {
        shared = tripleDh(this.crypto, { nick: this.nick, lt: this.identity, eph: own.eph }, peer);
        this.pairKeyCache.set(cacheKey, shared);
      }
      k = shared.slice();
      own.pairKeys.set(peerIndex, k);
    }
    return k;
  }

  private readonly pairKeyCache = new Map<string, Uint8Array>();

  /** Forget cached pair keys: they belong to ephemeral keys of sessions now superseded. */
  private clearPairKeyCache(): void {
    for (const k of this.pairKeyCache.values()) k.fill(0);
    this.pairKeyCache.clear();
  }

  // ---- contributions and confirmations --------------------------------------------------------

  private onContribution(
    session: Session,
    index: number,
    z: Uint8Array,
    event: { seq: Seq; at: number },
    extra: { kc?: Uint8Array; parent: Uint8Array },
  ): string {
    if (session.status !== 'in-limbo' || session.kind === 'genesis') return 'ignored: not in limbo';
    if (!session.parent || !bytesEqual(extra.parent, fromHex(session.parent)))
      return 'wrong-parent';
    if ((extra.kc !== undefined) !== (session.kind === 'join')) return 'wrong-message-for-session';
    if (index === session.joinerIndex) return 'wrong-message-for-session';
    if (session.shares[index]) return 'duplicate-contribution';
    session.shares[index] = z;
    const own = session.own;
    if (own && extra.kc && own.index === session.joinerIndex) {
      try {
        const expected = authToken(
          this.crypto,
          this.pairKey(session, index),
          session.sidBytes,
          session.participants[own.index] as Participant,
        );
        if (this.crypto.constantTimeEqual(expected, extra.kc)) own.tokensOk.add(index);
        else
          this.warn(
            'bad-member-token',
            `token from ${session.participants[index]?.nick} does not verify`,
            event.seq,
          );
      } catch (error) {
        if (!(error instanceof CryptoError)) throw error;
      }
    }
    this.afterProgress(session, event.seq);
    return 'accepted';
  }

  private onJoinerAuth(
    session: Session,
    index: number,
    body: Body<'JOINER_AUTH'>,
    event: { seq: Seq; at: number },
  ): string {
    if (session.status !== 'in-limbo' || session.kind !== 'join') return 'ignored: not in limbo';
    if (index !== session.joinerIndex) return 'wrong-message-for-session';
    if (body.kcs.length !== session.participants.length) return 'body-schema';
    if (session.shares[index]) return 'duplicate-contribution';
    session.shares[index] = body.z;
    const own = session.own;
    if (own && own.index !== index) {
      const kc = body.kcs[own.index];
      let ok = false;
      if (kc) {
        const expected = authToken(
          this.crypto,
          this.pairKey(session, index),
          session.sidBytes,
          session.participants[own.index] as Participant,
        );
        ok = this.crypto.constantTimeEqual(expected, kc);
      }
      if (ok) own.tokensOk.add(index);
      else {
        this.warn(
          'bad-joiner-token',
          `joiner ${session.joiner} sent us a token that does not verify`,
          event.seq,
        );
        this.sendTimeout(session, [session.joiner as Nick], true);
      }
    }
    this.afterProgress(session, event.seq);
    return 'accepted';
  }

  private afterProgress(session: Session, seq: Seq): void {
    this.emit({ type: 'progress', progress: session.progress(), seq });
    const own = session.own;
    if (!own || own.sk || session.status !== 'in-limbo' || !session.allShares()) return;
    if (session.kind === 'join') {
      const need = own.index === session.joinerIndex ? session.participants.length - 1 : 1;
      if (own.tokensOk.size < need) return;
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

  private onConfirmation(
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
      const transcript =
        index === session.joinerIndex || own.index === session.joinerIndex
          ? null
          : own.parentTranscript;
      if (transcript !== null) {
        const expected = confirmation(this.crypto, own.sk, session.sidBytes, who, transcript);
        if (!this.crypto.constantTimeEqual(expected, body.conf)) {
          this.warn(
            'key-mismatch',
            `${who.nick} confirmed a different key or transcript`,
            event.seq,
          );
          this.sendTimeout(session, [who.nick], false);
        }
      } else if (index === session.joinerIndex) {
        const expected = confirmation(this.crypto, own.sk, session.sidBytes, who, EMPTY);
        if (!this.crypto.constantTimeEqual(expected, body.conf)) {
          this.warn('key-mismatch', `joiner ${who.nick} confirmed a different key`, event.seq);
        }
      }
    }
    this.emit({ type: 'progress', progress: session.progress(), seq: event.seq });
    if (session.allConfirmed() && session.parent === this.current?.sid) {
      this.makeCurrent(session, event.seq, event.at);
    }
    return 'accepted';
  }

  /** PROTOCOL.md rule 3: the first in-limbo session confirmed by all participants wins. */
  private makeCurrent(winner: Session, seq: Seq, at: number): void {
    const old = this.current;
    const reason = winner.transition('current', { kind: 'confirmed-by-all' }, seq, at);
    if (reason === null) return;
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
    this.clearPairKeyCache();
    this.pendingJoiners = this.pendingJoiners.filter((j) => !winner.indexByNick.has(j.nick));
    this.pendingLeavers = new Set(
      [...this.pendingLeavers].filter((l) => winner.indexByNick.has(l)),
    );
    this.accusations.clear();
    this.rekeyRequested = false;
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
  }

  private kill(session: Session, reason: TransitionReason, seq: Seq, at: number): void {
    if (session.transition('dead', reason, seq, at) === null) return;
    this.cancel(`limbo:${session.sid}`);
    this.emitSession(session, seq);
  }

  private pruneDead(): void {
    const dead = [...this.sessions.values()].filter((s) => s.status === 'dead');
    for (const s of dead.slice(0, Math.max(0, dead.length - MAX_DEAD_SESSIONS))) {
      this.sessions.delete(s.sid);
    }
  }

  // ---- departures, timeouts, rekey ------------------------------------------------------------

  private departure(
    nick: Nick,
    how: 'left' | 'disconnected' | 'evicted',
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
    this.emit({ type: 'member-left', nick, sid: c.sid, seq, reason: how });
    if (nick === this.nick) {
      this.setPhase('left', `we ${how === 'evicted' ? 'were evicted' : 'left'}`);
    }
    if (c.members.every((m) => this.pendingLeavers.has(m))) {
      this.conversationEnded(c, seq, at);
      return;
    }
    this.reconcile(seq, at, { kind: 'participant-left', nick });
  }

  /**
   * Every member of the current session has left: nobody is left to admit the pending joiners.
   * Each of them founds the room anew; the first genesis in the stream wins and its founder then
   * admits the others, who are still pending in everyone's view.
   */
  private conversationEnded(c: Session, seq: Seq, at: number): void {
    const why: TransitionReason = { kind: 'obsolete', detail: 'all members left' };
    for (const s of this.limboOnCurrent()) this.kill(s, why, seq, at);
    c.transition('in-limbo', why, seq, at);
    this.emitSession(c, seq);
    if (this.draining) this.kill(this.draining, { kind: 'draining-ended' }, seq, at);
    this.draining = c.own?.sk ? c : null;
    if (!this.draining) this.kill(c, why, seq, at);
    this.current = null;
    this.pendingLeavers.clear();
    this.accusations.clear();
    this.rekeyRequested = false;
    if (this.pendingJoiners.some((j) => j.nick === this.nick)) this.sendGenesis();
  }

  private onTimeout(
    session: Session,
    body: Body<'TIMEOUT'>,
    event: Extract<Ordered, { kind: 'message' }>,
  ): string {
    const c = this.current;
    if (session !== c) return 'not-current-session';
    if (this.pendingLeavers.has(event.nick)) return 'ignored: accuser is leaving';
    const stalled = this.sessions.get(asSid(toHex(body.stalled)));
    if (!stalled || stalled.parent !== c.sid || stalled.status !== 'in-limbo')
      return 'ignored: stale timeout';
    const badToken =
      body.veto === true &&
      stalled.kind === 'join' &&
      body.accused.every((a) => a === stalled.joiner);
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
          this.departure(accused, 'evicted', event.seq, event.at);
        }
      } else if (this.pendingJoiners.some((j) => j.nick === accused)) {
        if (badToken || set.size * 2 > members) {
          this.warn(
            'eviction',
            `joiner ${accused} dropped (${badToken ? 'bad token' : 'timeout'})`,
            event.seq,
          );
          this.pendingJoiners = this.pendingJoiners.filter((j) => j.nick !== accused);
          this.reconcile(event.seq, event.at, { kind: 'joiner-dropped', nick: accused });
        }
      }
    }
    return 'accepted';
  }

  private onRekey(session: Session, event: { seq: Seq; at: number }): string {
    if (session !== this.current) return 'not-current-session';
    if (this.limboOnCurrent().length > 0) return 'ignored: a session is already in limbo';
    this.rekeyRequested = true;
    this.reconcile(event.seq, event.at, { kind: 'created', detail: 'rekey' });
    return 'accepted';
  }

  private sendTimeout(stalled: Session, accused: Nick[], veto: boolean): void {
    const c = this.current;
    const own = c?.own;
    if (!c || !own || !c.indexByNick.has(this.nick) || accused.length === 0) return;
    const body: Body<'TIMEOUT'> = { index: own.index, stalled: stalled.sidBytes, accused };
    if (veto) body.veto = true;
    this.send(encodeFrame(this.crypto, 'TIMEOUT', c.sidBytes, body, own.eph.secretKey));
  }

  // ---- local inputs: timers and commands (they only send) -------------------------------------

  private onTimer(key: string, at: number): void {
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

  /** No conversation answered: adopt what we saw since arriving and found the room. */
  private foundAlone(): void {
    const replay = this.buffer;
    this.buffer = [];
    this.attachEmpty(asSeq(0));
    this.lastSeq = 0;
    for (const e of replay) this.onOrdered(e);
    if (!this.current) this.sendGenesis();
  }

  private sendChat(text: string): void {
    const c = this.current;
    const own = c?.own;
    if (!c || !own?.sk || !this.isMember) {
      this.warn('dropped-invalid-message', 'cannot send: no current session yet');
      return;
    }
    const head = own.chain[own.chain.length - 1];
    const plain = { pseq: head?.seq ?? 0, th: head?.hash ?? null, text };
    // A random 48-bit message number: unique without any counter that a crash could rewind.
    const r = this.crypto.random(6);
    const number = r.reduce((acc, b) => acc * 256 + b, 0);
    own.sendCounter++;
    const key = messageKey(this.crypto, own.sk, own.index, number);
    const sealed = this.crypto.seal(encodeMsgpack(plain), chatAd(c.sidBytes, own.index), key);
    key.fill(0);
    this.send(
      encodeFrame(
        this.crypto,
        'CHAT',
        c.sidBytes,
        { index: own.index, number, sealed },
        own.eph.secretKey,
      ),
    );
  }

  private onChat(
    session: Session,
    index: number,
    body: Body<'CHAT'>,
    frame: VerifiedFrame,
    event: Extract<Ordered, { kind: 'message' }>,
  ): string {
    if (session !== this.current && session !== this.draining) return 'not-current-session';
    const own = session.own;
    if (!own?.sk) return 'ignored: not a reader of this session';
    const replayKey = `${index}:${body.number}`;
    if (own.seenChat.has(replayKey)) return 'replayed-chat';
    const key = messageKey(this.crypto, own.sk, index, body.number);
    let plainBytes: Uint8Array;
    try {
      plainBytes = this.crypto.open(body.sealed, chatAd(session.sidBytes, index), key);
    } catch {
      return 'decrypt-failed';
    } finally {
      key.fill(0);
    }
    const plain = decodeMsgpack(chatPlainSchema, plainBytes);
    if (!plain.ok) return `chat-${plain.error}`;
    own.seenChat.add(replayKey);
    let transcript: 'ok' | 'mismatch' | 'unknown' = 'unknown';
    const point = [...own.chain].reverse().find((p) => p.seq <= plain.value.pseq);
    if (point && plain.value.th) {
      transcript = bytesEqual(point.hash, plain.value.th) ? 'ok' : 'mismatch';
    }
    if (transcript === 'mismatch') {
      this.warn(
        'transcript-mismatch',
        `${event.nick}'s view of the conversation differs from ours`,
        event.seq,
      );
    }
    const headHash = (own.chain[own.chain.length - 1] as { hash: Uint8Array }).hash;
    own.chain.push({
      seq: event.seq,
      hash: transcriptNext(this.crypto, headHash, event.seq, frame.signed),
    });
    if (own.chain.length > 512) own.chain.splice(0, own.chain.length - 512);
    const sender = session.participants[index] as Participant;
    this.emit({
      type: 'message',
      from: event.nick,
      text: plain.value.text,
      sid: session.sid,
      seq: event.seq,
      transcript,
      fingerprint: fingerprint(this.crypto, sender.lt),
    });
    return 'accepted';
  }

  private sendLeave(): void {
    const c = this.current;
    const own = c?.own;
    if (c && own && this.isMember) {
      this.send(
        encodeFrame(this.crypto, 'LEAVE', c.sidBytes, { index: own.index }, own.eph.secretKey),
      );
    }
    this.mode = this.isMember ? this.mode : 'gone';
  }

  private sendRekey(): void {
    const c = this.current;
    const own = c?.own;
    if (!c || !own || !this.isMember) return;
    this.send(
      encodeFrame(this.crypto, 'REKEY', c.sidBytes, { index: own.index }, own.eph.secretKey),
    );
  }

  // ---- helpers --------------------------------------------------------------------------------

  private transcriptHead(session: Session): Uint8Array {
    const chain = session.own?.chain;
    return chain?.[chain.length - 1]?.hash ?? EMPTY;
  }

  private send(data: Uint8Array): void {
    this.effects.push({ type: 'send', data });
  }

  private emit(event: AppEvent): void {
    this.effects.push({ type: 'event', event });
  }

  private emitSession(session: Session, seq: Seq): void {
    const last = session.history[session.history.length - 1];
    this.emit({
      type: 'session',
      sid: session.sid,
      status: session.status,
      members: session.members,
      reason: last?.reason ?? '',
      seq,
      parent: session.parent,
      kind: session.kind,
    });
  }

  private warn(code: WarningCode, message: string, seq?: number): void {
    this.emit({
      type: 'warning',
      code,
      message,
      ...(seq === undefined ? {} : { seq: asSeq(seq) }),
    });
  }

  private setPhase(phase: JoinPhase, detail: string): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.emit({ type: 'join-phase', phase, detail });
  }

  private arm(key: string, afterMs: number): void {
    this.effects.push({ type: 'arm-timer', key, afterMs });
  }

  private cancel(key: string): void {
    this.effects.push({ type: 'cancel-timer', key });
  }
}

/** Associated data of a CHAT: version, type, sid and sender index. */
function chatAd(sid: Uint8Array, index: number): Uint8Array {
  const ad = new Uint8Array(2 + sid.length + 2);
  ad[0] = PROTOCOL_VERSION;
  ad[1] = MessageType.CHAT;
  ad.set(sid, 2);
  new DataView(ad.buffer).setUint16(2 + sid.length, index);
  return ad;
}
