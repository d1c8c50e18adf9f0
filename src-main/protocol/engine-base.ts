// State and effect plumbing shared by every layer of the room engine (see engine.ts). Each layer
// is one concern of PROTOCOL.md section 5, in its own file; together they are one state machine.
import type { Crypto } from './crypto';
import { tripleDh } from './derive';
import type {
  AppEvent,
  BlameRoundCause,
  Effect,
  EngineInput,
  JoinPhase,
  WarningCode,
} from './events';
import type { OwnPart, Session } from './session';
import type { PublicState } from './state-transfer';
import type { TransitionReason } from './transitions';
import type { Nick, Participant, Seq, SignKeyPair, Sid } from './types';
import { asSeq, toHex } from './types';

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
  /** How long a join session behind the front waits before we contribute to it anyway. */
  stallMs?: number;
}

export type Mode = 'idle' | 'detached' | 'attached' | 'gone';

export interface PendingJoiner {
  nick: Nick;
  lt: Uint8Array;
  eph: Uint8Array;
  seq: number;
}

/**
 * An open blame round on a failed session (docs/PROTOCOL.md "Accountability"): what was public
 * about it, who must reveal their ephemeral secret for it, and what has been revealed.
 */
export interface BlameRound {
  sid: Sid;
  sidBytes: Uint8Array;
  cause: BlameRoundCause;
  participants: Participant[];
  joiner: Nick | null;
  /** Every joiner of the failed session (a batch has several); absent in older snapshots. */
  joiners?: Nick[];
  /** Every participant's public share z, as ordered. */
  shares: Uint8Array[];
  /** The joiner's tokens (JOINER_AUTH), for a veto. */
  joinerKcs: (Uint8Array | null)[] | null;
  /** The members' tokens to the joiner (PARTICIPANTS_INFO), for a complaint. */
  memberKcs: (Uint8Array | null)[];
  /** Who vetoed (a member) or complained (the joiner), and whom the claim is against. */
  vetoer: Nick | null;
  accused: Nick | null;
  need: Nick[];
  /** Revealed ephemeral seeds by nick. */
  revealed: Map<Nick, Uint8Array>;
  openedSeq: number;
}

/** Whether `nick` is a joiner of the round's failed session (one, or a batch's several). */
export function isRoundJoiner(round: BlameRound, nick: Nick): boolean {
  return round.joiners ? round.joiners.includes(nick) : round.joiner === nick;
}

export type Ordered = Extract<EngineInput, { seq: Seq }>;
export type DropReason = string;

export const EMPTY = new Uint8Array(0);
export const MAX_BUFFER = 5_000;
export const MAX_DEAD_SESSIONS = 64;
/** Most joiners one batch session admits; later ones wait for the next batch. */
export const MAX_BATCH = 64;

export abstract class EngineBase {
  readonly nick: Nick;

  protected readonly crypto: Crypto;

  protected readonly identity: SignKeyPair;

  protected readonly limboTimeoutMs: number;

  protected readonly joinRetryMs: number;

  protected readonly soloAfterRetries: number;

  protected readonly rekeyIntervalMs: number;

  protected readonly drainMs: number;
  protected readonly stallMs: number;

  protected mode: Mode = 'idle';

  readonly sessions = new Map<Sid, Session>();

  current: Session | null = null;

  protected draining: Session | null = null;
  /** The session current before this one (for LEAVE in flight), whatever its status now. */
  protected previousCurrent: Session | null = null;

  protected pendingJoiners: PendingJoiner[] = [];

  protected pendingLeavers = new Set<Nick>();

  /**
   * The joiners of the batch session on the current session, fixed when it formed; null when
   * there is none (docs/PROTOCOL.md "Batch admission"). Ordered state, like the pending lists.
   */
  protected batchJoiners: Nick[] | null = null;

  /** Pending joiners a member reported silent in a batch: they go by one-joiner sessions. */
  protected unbatchable = new Set<Nick>();

  protected accusations = new Map<Nick, Set<Nick>>();

  protected rekeyRequested = false;

  readonly presence = new Set<Nick>();

  protected lastSeq = 0;

  // Joiner bookkeeping.
  protected readonly joinAttempts = new Map<string, SignKeyPair>();

  protected joinRetries = 0;

  protected sawConversation = false;

  protected buffer: Ordered[] = [];

  protected phase: JoinPhase = 'requesting';

  protected effects: Effect[] = [];

  /** At most one blame round at a time; no session is built on C while it is open. */
  protected blame: BlameRound | null = null;

  /** Members of C whose next key is about to be revealed and not yet replaced. */
  protected burned = new Set<Nick>();

  /** Participants proven to have cheated: their requests are refused in this room. */
  protected banned: { nick: Nick; lt: Uint8Array }[] = [];

  /** Our chats waiting for a session without a departed participant. */
  protected held: { text: string; id?: string }[] = [];

  /** Hash chain over every ordered event since the current session became current. */
  protected history: Uint8Array = EMPTY;

  protected readonly genesisKeys = new Map<
    string,
    { eph: SignKeyPair; sk: Uint8Array; next: SignKeyPair }
  >();

  protected readonly pairKeyCache = new Map<string, Uint8Array>();

  constructor(readonly config: EngineConfig) {
    this.nick = config.nick;
    this.crypto = config.crypto;
    this.identity = config.identity;
    this.limboTimeoutMs = config.limboTimeoutMs ?? 30_000;
    this.joinRetryMs = config.joinRetryMs ?? 10_000;
    this.soloAfterRetries = config.soloAfterRetries ?? 3;
    this.rekeyIntervalMs = config.rekeyIntervalMs ?? 0;
    this.drainMs = config.drainMs ?? 60_000;
    this.stallMs = config.stallMs ?? 5_000;
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

  protected limboOnCurrent(): Session[] {
    const c = this.current;
    if (!c) return [];
    return [...this.sessions.values()].filter((s) => s.status === 'in-limbo' && s.parent === c.sid);
  }

  /** The live batch on the current session that covers `nick`, unless it stalled for us. */
  protected coveringBatch(nick: Nick): Session | null {
    for (const s of this.limboOnCurrent()) {
      if (s.kind === 'batch' && !s.stalled && s.isJoiner(nick)) return s;
    }
    return null;
  }

  protected kill(session: Session, reason: TransitionReason, seq: Seq, at: number): void {
    if (session.transition('dead', reason, seq, at) === null) return;
    this.cancel(`limbo:${session.sid}`);
    this.emitSession(session, seq);
  }

  protected pruneDead(): void {
    const dead = [...this.sessions.values()].filter((s) => s.status === 'dead');
    for (const s of dead.slice(0, Math.max(0, dead.length - MAX_DEAD_SESSIONS))) {
      this.sessions.delete(s.sid);
    }
  }

  protected newOwnPart(index: number, eph: SignKeyPair, parentTranscript: Uint8Array): OwnPart {
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
      seenChat: new Map<string, number>(),
      replayFloor: 0,
      mismatched: new Set<Nick>(),
      inconsistent: false,
    };
  }

  protected pairKey(session: Session, peerIndex: number): Uint8Array {
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

  /** Forget cached pair keys: they belong to ephemeral keys of sessions now superseded. */
  protected clearPairKeyCache(): void {
    for (const k of this.pairKeyCache.values()) k.fill(0);
    this.pairKeyCache.clear();
  }

  protected transcriptHead(session: Session): Uint8Array {
    const chain = session.own?.chain;
    return chain?.[chain.length - 1]?.hash ?? EMPTY;
  }

  protected send(data: Uint8Array): void {
    this.effects.push({ type: 'send', data });
  }

  protected emit(event: AppEvent): void {
    this.effects.push({ type: 'event', event });
  }

  protected emitSession(session: Session, seq: Seq, restored = false): void {
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
      ...(session.kind === 'batch' ? { joiners: [...session.joiners] } : {}),
      ...(restored ? { restored: true } : {}),
    });
  }

  protected warn(code: WarningCode, message: string, seq?: number): void {
    this.emit({
      type: 'warning',
      code,
      message,
      ...(seq === undefined ? {} : { seq: asSeq(seq) }),
    });
  }

  protected setPhase(phase: JoinPhase, detail: string): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.emit({ type: 'join-phase', phase, detail });
  }

  protected arm(key: string, afterMs: number): void {
    this.effects.push({ type: 'arm-timer', key, afterMs });
  }

  protected cancel(key: string): void {
    this.effects.push({ type: 'cancel-timer', key });
  }

  // Implemented by higher layers, called from lower ones.
  protected abstract sendTimeout(
    stalled: { sidBytes: Uint8Array },
    accused: Nick[],
    veto: boolean,
    slow?: boolean,
  ): void;
  protected abstract makeCurrent(winner: Session, seq: Seq, at: number): void;
  protected abstract exportState(seq: Seq): PublicState;
  protected abstract sendGenesis(): void;
  protected abstract onOrdered(event: Ordered): void;
}
