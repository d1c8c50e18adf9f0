// Runs one engine for one room over a relay link and the store. Every relay event is applied
// and persisted in one transaction (engine snapshot, sessions, history, message, key sightings,
// cursor) before any of its effects leave the process: a crash at any instant loses nothing the
// user saw and applies nothing twice.
import type {
  AdmissionPolicy,
  ChatMessage,
  ClientEvent,
  ConnectionState,
  EventLogEntry,
  JoinPhase as ApiJoinPhase,
  BlameView,
  PendingMessage,
  RoomFailure,
  RoomNotice,
  VerificationView,
} from '../../src-shared/api';
import type { Crypto } from '../protocol/crypto';
import { fingerprint } from '../protocol/derive';
import type { EngineConfig } from '../protocol/engine';
import { RoomEngine } from '../protocol/engine';
import type { AppEvent, Effect, EngineInput } from '../protocol/events';
import type { Session } from '../protocol/session';
import type { Nick, SignKeyPair } from '../protocol/types';
import { asNick, asSeq } from '../protocol/types';
import type { Store } from '../store';
import type {
  KeySighting,
  NewMessage,
  NoticeKind,
  RoomRecord,
  SessionStatusChange,
  SessionUpsert,
} from '../store';
import type { FileSettings, PreparedFile } from './files';
import { ApiFailure } from './errors';
import { DEFAULT_FILE_SETTINGS, RoomFiles, SendingBlocked } from './files';
import { Outbox } from './outbox';
import type { JoinedInfo, RelayEvent } from './relay-link';
import { RelayLink } from './relay-link';
import type { VerifyPool } from './verify-pool';
import { verifyAhead } from './verify-pool';
import { batchJoiners, roomStateView } from './views';

export interface RoomRunnerDeps {
  store: Store;
  crypto: Crypto;
  identity: SignKeyPair;
  emit: (event: ClientEvent) => void;
  /** Every engine app event, unfiltered (the headless client prints them). */
  onEngineEvent?: (roomId: string, event: AppEvent) => void;
  engineConfig?: Partial<EngineConfig>;
  relayToken?: string;
  /** The access token stored for a relay (read at every connect, so Retry uses a new one). */
  tokenFor?: (relayUrl: string) => string | null;
  /** Give up reaching the relay after this long without a join (0: never). */
  giveUpAfterMs?: number;
  /** The room's summary changed (failure, muted): the sidebar's list needs refreshing. */
  onSummaryChanged?: () => void;
  now?: () => number;
  /** Threads verifying frames' signatures ahead of the engine (none: the engine does it all). */
  verifyPool?: VerifyPool | null;
  /** Encrypted files: size limit and pacing (docs/PROTOCOL.md "Files"). */
  files?: FileSettings;
}

const MAX_NOTICES = 500;

const STORED_NOTICES: readonly string[] = ['joining', 'joined', 'left', 'cannot-read', 'warning'];

/** The notice kinds the store keeps (room_notices, migration 5). */
export function isStoredNotice(kind: RoomNotice['kind']): kind is NoticeKind {
  return STORED_NOTICES.includes(kind);
}

/** An admission change as the room's timeline shows it ("bob asks to join"). */
function admissionText(change: string): string {
  return change === 'restored' || change === 'following the room'
    ? 'Admission state restored'
    : change.charAt(0).toUpperCase() + change.slice(1);
}

export class RoomRunner {
  engine: RoomEngine;
  private link: RelayLink | null = null;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  connection: ConnectionState = 'connecting';
  connectionDetail = '';

  /** Why the room refused to let us in (declined, invitation only), once it did. */
  refusal: string | null = null;
  readonly notices: RoomNotice[] = [];
  /** Who was blamed in this room and why (shown in the debug panel). */
  readonly blames: BlameView[] = [];
  /** Our messages waiting for the room to re-key. */
  heldCount = 0;
  private updateScheduled = false;
  private closed = false;
  private membersBefore: string[] = [];
  private ownJoinSeq = 0;
  private readonly now: () => number;
  readonly files: RoomFiles;
  /** Set when the link gave up (unreachable, TLS, token refused); cleared by retry(). */
  failure: RoomFailure | null = null;
  readonly outbox: Outbox;

  constructor(
    public room: RoomRecord,
    private readonly deps: RoomRunnerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.engine = this.freshEngine();
    this.files = new RoomFiles({
      store: deps.store,
      crypto: deps.crypto,
      roomId: room.id,
      apiRoomId: String(room.id),
      ownNick: () => this.room.nick,
      epoch: () => this.room.epoch,
      emit: deps.emit,
      sendChat: (text, attachment) => this.sendAttachment(text, attachment),
      settings: deps.files ?? DEFAULT_FILE_SETTINGS,
      ...(deps.now ? { now: deps.now } : {}),
    });
    this.outbox = new Outbox(deps.store, room.id, (pending: PendingMessage[]) =>
      deps.emit({ type: 'outbox', roomId: this.id, pending }),
    );
  }

  get id(): string {
    return String(this.room.id);
  }

  private engineConfig(): EngineConfig {
    return {
      nick: asNick(this.room.nick),
      identity: this.deps.identity,
      crypto: this.deps.crypto,
      ...this.deps.engineConfig,
    };
  }

  private freshEngine(): RoomEngine {
    return new RoomEngine(this.engineConfig());
  }

  /** Start (or resume, when the store holds a snapshot and a resume token). */
  start(): void {
    const snapshot = this.deps.store.latestSnapshot(this.room.id);
    const token = this.deps.store.getResumeToken(this.room.id);
    let resume: { since: number; resumeToken: string } | undefined;
    if (snapshot && token && this.room.cursorSeq > 0 && snapshot.epoch === this.room.epoch) {
      try {
        this.engine = RoomEngine.fromSnapshot(this.engineConfig(), snapshot.snapshot);
        resume = { since: this.room.cursorSeq, resumeToken: token };
        this.run(this.engine.handle({ kind: 'restored', at: this.now() }));
      } catch (error) {
        this.notice(0, 'warning', null, `could not restore the room (${String(error)}); rejoining`);
        this.engine = this.freshEngine();
        this.room = this.deps.store.rejoinRoom(this.room.id, 'snapshot unreadable');
      }
    } else if (this.room.cursorSeq > 0) {
      this.room = this.deps.store.rejoinRoom(this.room.id, 'no resumable state');
    }
    this.files.resume();
    this.connect(resume);
  }

  private connect(resume?: { since: number; resumeToken: string }): void {
    const token = this.deps.tokenFor?.(this.room.relayUrl) ?? this.deps.relayToken;
    this.link = new RelayLink(
      {
        url: this.room.relayUrl,
        room: this.room.name,
        nick: this.room.nick,
        ...(token ? { token } : {}),
        ...(resume ? { resume } : {}),
        ...(this.deps.giveUpAfterMs ? { giveUpAfterMs: this.deps.giveUpAfterMs } : {}),
      },
      {
        onEvent: (event) => this.onRelayEvent(event),
        prepare: (event) =>
          event.type === 'message' && event.data && !this.closed
            ? verifyAhead(
                this.deps.verifyPool ?? null,
                this.engine,
                this.deps.crypto,
                asNick(event.nick),
                event.data,
              )
            : null,
        onJoined: (info) => this.onJoined(info),
        onState: (state, detail) => {
          this.connection = state;
          this.connectionDetail = detail;
          this.scheduleUpdate();
        },
        onLost: (reason, detail) => this.onLost(reason, detail),
        onFailure: (failure) => this.onFailure(failure),
      },
    );
    this.link.start();
  }

  private onFailure(failure: RoomFailure): void {
    if (this.closed) return;
    this.link = null;
    this.failure = failure;
    this.connection = 'offline';
    this.connectionDetail = failure.message;
    this.scheduleUpdate();
    this.deps.onSummaryChanged?.();
  }

  /** After a failure: try the relay again (with the token stored now), resuming if we can. */
  retry(): void {
    if (this.closed) return;
    this.failure = null;
    this.link?.close();
    this.link = null;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.room = this.deps.store.getRoom(this.room.id) ?? this.room;
    this.start();
    this.scheduleUpdate();
    this.deps.onSummaryChanged?.();
  }

  /** The store's record changed (muted): take it in and tell the views. */
  refreshRecord(): void {
    this.room = this.deps.store.getRoom(this.room.id) ?? this.room;
    this.scheduleUpdate();
  }

  private onJoined(info: JoinedInfo): void {
    this.deps.store.setResumeToken(this.room.id, info.resumeToken);
    if (!info.resumed) {
      this.membersBefore = info.members;
      this.ownJoinSeq = info.seq;
    }
  }

  /** The relay could not resume us: start over in a new epoch, history kept. */
  private onLost(reason: string, detail: string): void {
    if (this.closed) return;
    this.link?.close();
    this.link = null;
    if (reason === 'nick-taken' || reason === 'refused') {
      this.notice(0, 'warning', null, `cannot join: ${detail}`);
      this.onFailure({
        kind: 'refused',
        message:
          reason === 'nick-taken'
            ? `Someone in the room already uses the nickname ${this.room.nick}: ${detail}`
            : `The relay refused to let us in: ${detail}`,
      });
      return;
    }
    this.notice(0, 'warning', null, `rejoining the room (${reason})`);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.room = this.deps.store.rejoinRoom(this.room.id, reason);
    this.engine = this.freshEngine();
    this.connect();
  }

  private async onRelayEvent(event: RelayEvent): Promise<void> {
    if (this.closed) return;
    const seq = asSeq(event.seq);
    const nick = asNick(event.nick);
    let input: EngineInput;
    if (event.type === 'joined') {
      input =
        event.seq === this.ownJoinSeq && event.nick === this.room.nick
          ? {
              kind: 'joined',
              seq,
              nick,
              at: event.at,
              membersBefore: this.membersBefore.map(asNick),
            }
          : { kind: 'joined', seq, nick, at: event.at };
    } else if (event.type === 'left') {
      input = { kind: 'left', seq, nick, at: event.at };
    } else {
      input = { kind: 'message', seq, nick, data: event.data ?? new Uint8Array(0), at: event.at };
    }
    const effects = this.engine.handle(input);
    this.persist(event, effects);
    this.run(effects);
  }

  /** Everything this event changed, in one transaction with the cursor. */
  private persist(event: RelayEvent, effects: Effect[]): void {
    const events = effects.flatMap((e) => (e.type === 'event' ? [e.event] : []));
    const log = events.find((e) => e.type === 'log');
    const touched = new Set<string>();
    const history: SessionStatusChange[] = [];
    let message: NewMessage | undefined;
    let file: PreparedFile | undefined;
    const sightings = new Map<string, KeySighting>();
    for (const e of events) {
      if (e.type === 'session') {
        touched.add(e.sid);
        history.push({ sid: e.sid, status: e.status, reason: e.reason });
        const s = this.engine.sessions.get(e.sid);
        if (s && e.status === 'in-limbo' && s.history.length === 1) {
          for (const p of s.participants) {
            sightings.set(p.nick, { nick: p.nick, publicKey: p.lt, fingerprint: this.fp(p.lt) });
          }
        }
      } else if (e.type === 'progress') {
        touched.add(e.progress.sid);
      } else if (e.type === 'message') {
        if (e.attachment) file = this.files.prepare(e, e.attachment);
        if (file && !file.keepMessage) continue;
        const known = this.deps.store.getKnownKey(this.room.id, e.from);
        const verification = known?.pending
          ? 'key-changed'
          : known?.verified && known.fingerprint === e.fingerprint
            ? 'verified'
            : 'unverified';
        message = {
          sid: e.sid,
          senderNick: e.from,
          senderFingerprint: e.fingerprint,
          body: e.text,
          sentAt: event.at,
          verification,
          transcript: e.transcript,
        };
      }
    }
    const sessions: SessionUpsert[] = [];
    for (const sid of touched) {
      const s = this.engine.sessions.get(sid as Session['sid']);
      if (s) sessions.push(this.sessionUpsert(s));
    }
    // The store keeps one current session per room: demotions first.
    sessions.sort((a, b) => (a.status === 'current' ? 1 : 0) - (b.status === 'current' ? 1 : 0));
    const result = this.deps.store.applyEvent(this.room.id, event.seq, {
      log: {
        type: log?.type === 'log' ? log.eventType : event.type,
        size: event.data?.length ?? 0,
        outcome:
          file && file.outcome !== 'accepted'
            ? file.outcome
            : log?.type === 'log'
              ? log.outcome
              : 'accepted',
      },
      snapshot: this.engine.toSnapshot(),
      sessions,
      history,
      ...(message ? { message } : {}),
      keySightings: [...sightings.values()],
      ...(file?.change ? { file: file.change } : {}),
    });
    file?.commit();
    result.keySightings.forEach((k) => {
      if (k.outcome === 'changed') {
        const text = `${k.nick}'s identity key changed: verify before trusting`;
        this.notice(event.seq, 'warning', k.nick, text);
        this.deps.onEngineEvent?.(this.id, {
          type: 'warning',
          code: 'identity-key-changed',
          message: text,
          seq: asSeq(event.seq),
        });
      }
    });
    this.room = { ...this.room, cursorSeq: result.cursorSeq };
  }

  private sessionUpsert(s: Session): SessionUpsert {
    const last = s.history[s.history.length - 1];
    const p = s.progress();
    return {
      sid: s.sid,
      status: s.status,
      kind: s.kind,
      parentSid: s.parent,
      reason: last?.reason ?? '',
      members: s.participants.map((m) => ({ nick: m.nick, fingerprint: this.fp(m.lt) })),
      progress: { tokens: p.tokens, shares: p.shares, confirmations: p.confirmations },
      joiners: batchJoiners(s, (sid) => this.engine.sessions.get(sid)) ?? null,
      secret: s.status === 'dead' ? null : (s.own?.sk ?? null),
    };
  }

  private readonly fpCache = new Map<Uint8Array, string>();
  fp(lt: Uint8Array): string {
    let f = this.fpCache.get(lt);
    if (!f) {
      f = fingerprint(this.deps.crypto, lt);
      this.fpCache.set(lt, f);
    }
    return f;
  }

  /** Carry out effects: sends, timers, and events for subscribers. Returns the sends. */
  private run(effects: Effect[]): Promise<number>[] {
    const sends: Promise<number>[] = [];
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const sent = this.link
            ? this.link.send(effect.data)
            : Promise.reject(new Error('not connected to the relay'));
          sent.catch((error: unknown) => {
            this.notice(0, 'warning', null, `send failed: ${String(error)}`);
          });
          sends.push(sent);
          break;
        }
        case 'arm-timer': {
          const previous = this.timers.get(effect.key);
          if (previous) clearTimeout(previous);
          const timer = setTimeout(() => {
            this.timers.delete(effect.key);
            if (!this.closed)
              this.run(this.engine.handle({ kind: 'timer', key: effect.key, at: this.now() }));
          }, effect.afterMs);
          timer.unref();
          this.timers.set(effect.key, timer);
          break;
        }
        case 'cancel-timer': {
          const t = this.timers.get(effect.key);
          if (t) clearTimeout(t);
          this.timers.delete(effect.key);
          break;
        }
        case 'event':
          this.onAppEvent(effect.event);
          break;
        case 'persist':
          break;
      }
    }
    return sends;
  }

  private onAppEvent(e: AppEvent): void {
    const roomId = this.id;
    this.deps.onEngineEvent?.(roomId, e);
    switch (e.type) {
      case 'message': {
        // A file chunk is progress on its offer's message (RoomFiles emits it), not a message.
        const file = e.attachment ? this.files.viewAt(e.seq) : undefined;
        if (e.attachment && !file) break;
        if (e.from === this.room.nick && !e.attachment) this.outbox.ownReflected(e.seq, e.text);
        const message: ChatMessage = {
          seq: e.seq,
          sid: e.sid,
          from: e.from,
          fingerprint: e.fingerprint,
          text: e.text,
          at: this.now(),
          transcript: e.transcript,
          own: e.from === this.room.nick,
          ...(file ? { file } : {}),
        };
        this.deps.emit({ type: 'message', roomId, message });
        break;
      }
      case 'member-joining':
      case 'member-joined':
      case 'member-left':
      case 'member-cannot-read':
        this.onMemberEvent(e);
        break;
      case 'warning':
        // Blame has its own event (below), with the sentence users read.
        if (e.code !== 'dropped-invalid-message' && e.code !== 'blame')
          this.notice(e.seq ?? 0, 'warning', null, e.message);
        break;
      case 'blame':
      case 'blame-round':
      case 'chat-held':
      case 'chat-released':
      case 'chat-failed':
        this.onAccountabilityEvent(e);
        break;
      case 'log': {
        const entry: EventLogEntry = {
          seq: e.seq,
          type: e.eventType,
          size: e.size,
          outcome: e.outcome,
          at: this.now(),
        };
        this.deps.emit({ type: 'log', roomId, entry });
        break;
      }
      case 'admission':
        this.notice(e.seq, 'admission', null, admissionText(e.change));
        break;
      case 'refused':
        this.refusal = e.message;
        this.notice(0, 'warning', null, `Not let in: ${e.message}`);
        break;
      case 'session':
      case 'progress':
      case 'join-phase':
        break;
    }
    if (e.type !== 'log' && e.type !== 'message') this.scheduleUpdate();
  }

  /** Membership changes become the room's notices. */
  private onMemberEvent(
    e: Extract<
      AppEvent,
      { type: 'member-joining' | 'member-joined' | 'member-left' | 'member-cannot-read' }
    >,
  ): void {
    switch (e.type) {
      case 'member-joining':
        this.notice(e.seq, 'joining', e.nick, `${e.nick} is joining`);
        break;
      case 'member-joined':
        this.notice(
          e.seq,
          'joined',
          e.nick,
          e.nick === this.room.nick ? 'you joined the room' : `${e.nick} joined`,
        );
        break;
      case 'member-left': {
        const how =
          e.reason === 'left'
            ? 'left'
            : e.reason === 'evicted'
              ? 'was removed after not answering'
              : e.reason === 'blamed'
                ? 'was removed (see above)'
                : 'disconnected';
        this.notice(e.seq, 'left', e.nick, `${e.nick} ${how}`);
        break;
      }
      case 'member-cannot-read':
        this.notice(e.seq, 'cannot-read', e.nick, `${e.nick} can no longer read new messages`);
        break;
    }
  }

  /** Blame results and held chat: the debug panel's blame list, the held count, notices. */
  private onAccountabilityEvent(
    e: Extract<
      AppEvent,
      { type: 'blame' | 'blame-round' | 'chat-held' | 'chat-released' | 'chat-failed' }
    >,
  ): void {
    switch (e.type) {
      case 'blame':
        this.blames.push({
          nick: e.nick,
          cause: e.cause,
          message: e.message,
          seq: e.seq,
          sid: e.sid,
        });
        if (this.blames.length > MAX_NOTICES) this.blames.shift();
        this.notice(e.seq, 'blame', e.nick, e.message);
        break;
      case 'blame-round':
        break;
      case 'chat-held':
        this.heldCount++;
        this.notice(
          0,
          'held',
          null,
          `Your message is waiting for the room to re-key (${e.reason})`,
        );
        break;
      case 'chat-released':
        this.heldCount = Math.max(0, this.heldCount - 1);
        break;
      case 'chat-failed':
        if (e.id !== undefined) this.outbox.failed(e.id, `not sent: ${e.reason}`);
        this.heldCount = Math.max(0, this.heldCount - 1);
        this.notice(0, 'warning', null, `Your message was not sent: ${e.reason}`);
        break;
    }
  }

  private notice(seq: number, kind: RoomNotice['kind'], nick: string | null, text: string): void {
    const notice: RoomNotice = { seq, kind, nick, text, at: this.now() };
    // Membership lines and warnings are kept with the history, so they survive a restart; the
    // protocol's own notices (blame, held) live as long as the runner, in `notices`.
    if (isStoredNotice(kind)) {
      this.deps.store.addNotice(this.room.id, {
        seq,
        kind,
        nick,
        text: text.slice(0, 2000),
        at: notice.at,
      });
    }
    this.notices.push(notice);
    if (this.notices.length > MAX_NOTICES) this.notices.shift();
    this.deps.emit({ type: 'notice', roomId: this.id, notice });
  }

  private scheduleUpdate(): void {
    if (this.updateScheduled || this.closed) return;
    this.updateScheduled = true;
    setImmediate(() => {
      this.updateScheduled = false;
      if (!this.closed)
        this.deps.emit({ type: 'room-updated', roomId: this.id, state: this.state() });
    });
  }

  state() {
    return roomStateView(this, this.deps.store.getKnownKeys(this.room.id));
  }

  /** The verify threads' counters (shared by every room of this client), for the debug panel. */
  get verification(): VerificationView | null {
    const stats = this.deps.verifyPool?.stats;
    if (!stats) return null;
    return {
      threads: stats.threads,
      verified: stats.verified,
      stolen: stats.stolen,
      failed: stats.failedSignatures,
    };
  }

  get phase(): ApiJoinPhase {
    if (this.connection !== 'connected' && this.engine.joinPhase !== 'member') return 'connecting';
    return this.engine.joinPhase;
  }

  send(text: string): void {
    this.run(this.engine.handle({ kind: 'send-chat', text, at: this.now() }));
  }

  /** Admission (docs/PROTOCOL.md "Admission policy"): each sends one message, if a member. */
  setAdmission(policy: AdmissionPolicy): void {
    if (!this.engine.isMember) throw new ApiFailure('NOT_MEMBER', 'only members set the policy');
    this.run(this.engine.handle({ kind: 'set-policy', policy, at: this.now() }));
  }

  answerKnock(nick: string, seq: number, admit: boolean): void {
    if (!this.engine.isMember) throw new ApiFailure('NOT_MEMBER', 'only members answer a knock');
    const knock = this.engine.admissionView.knocks.find((k) => k.nick === nick && k.seq === seq);
    if (!knock) throw new ApiFailure('BAD_ARGUMENT', `${nick} is not asking to join`);
    const kind = admit ? 'admit' : 'decline';
    this.run(this.engine.handle({ kind, nick: asNick(nick), knock: seq, at: this.now() }));
  }

  /** A fresh one-time invite: its public key announced in the room, its secret returned. */
  announceInvite(): string {
    const seed = this.deps.crypto.random(32);
    const key = this.deps.crypto.signKeyPairFromSeed(seed).publicKey;
    this.run(this.engine.handle({ kind: 'announce-invite', key, at: this.now() }));
    return Buffer.from(seed).toString('base64url');
  }

  /**
   * One CHAT carrying a file attachment; resolves when the relay took it (or at once when the
   * engine holds it back), rejects when the relay refused it or we are not connected.
   */
  async sendAttachment(text: string, attachment: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('the room is closed');
    const effects = this.engine.handle({ kind: 'send-chat', text, attachment, at: this.now() });
    // The engine does not hold attachments while sending is blocked: the file transfer waits.
    const failed = effects.find((e) => e.type === 'event' && e.event.type === 'chat-failed');
    if (failed?.type === 'event' && failed.event.type === 'chat-failed') {
      this.run(effects.filter((e) => e !== failed));
      throw new SendingBlocked(failed.event.reason);
    }
    await Promise.all(this.run(effects));
  }

  /**
   * Sends the outbox message `id`: encrypted now, under the current session, and failed at once
   * when the relay cannot take it; sent when its reflection comes back (Outbox.ownReflected).
   */
  sendPending(id: string, text: string): void {
    const link = this.link;
    if (!link?.ready) {
      this.outbox.failed(id, this.failure ? this.failure.message : 'not connected to the relay');
      return;
    }
    if (!this.engine.isMember) {
      this.outbox.failed(id, 'you are not a member of the room');
      return;
    }
    const effects = this.engine.handle({ kind: 'send-chat', text, at: this.now(), id });
    const sends = effects.flatMap((e) => (e.type === 'send' ? [e] : []));
    // chat-held keeps it 'sending' until the engine releases it after the re-key (its send then
    // goes out with that event, and the reflection marks it sent); chat-failed fails it.
    const answered = effects.some(
      (e) => e.type === 'event' && (e.event.type === 'chat-held' || e.event.type === 'chat-failed'),
    );
    this.run(effects.filter((e) => e.type !== 'send'));
    if (sends.length === 0) {
      if (!answered) this.outbox.failed(id, 'there is no session to encrypt it under yet');
      return;
    }
    for (const send of sends) {
      link.send(send.data).then(
        (seq) => this.outbox.acknowledged(id, seq),
        (error: unknown) =>
          this.outbox.failed(
            id,
            `the relay did not take it (${error instanceof Error ? error.message : String(error)})`,
          ),
      );
    }
  }

  /** Leave politely: a LEAVE in the current session, then the relay room. */
  async leave(): Promise<void> {
    this.run(this.engine.handle({ kind: 'leave', at: this.now() }));
    await new Promise((r) => setTimeout(r, 200));
    await this.link?.leave();
    this.link = null;
    this.deps.store.leaveRoom(this.room.id, 'left by the user');
    this.close();
  }

  close(): void {
    this.closed = true;
    this.files.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.link?.close();
    this.link = null;
  }

  get pendingNicks(): { joiners: Nick[]; leavers: Nick[] } {
    return this.engine.pending;
  }
}
