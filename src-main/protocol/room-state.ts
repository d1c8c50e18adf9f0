// The room engine's whole state, in one explicit object (docs/ARCHITECTURE.md "The engine"):
// every module of the engine (keying.ts, batch.ts, membership.ts, accountability.ts,
// eviction.ts, joining.ts, transfer.ts, chat.ts, admission.ts, ordered.ts, timers.ts) is a set of
// functions over a `RoomState`, pushing their effects into `room.effects`. What a lower module
// calls in a higher one goes through `room.ops` (`EngineOps`, wired once in engine.ts), so that
// no two modules import each other. Types and the constructor only: no behaviour lives here.
import type { AdmissionPolicy, Body } from './codec';
import type { Crypto } from './crypto';
import type { BlameRoundCause, Effect, EngineInput, JoinPhase } from './events';
import type { Session } from './session';
import type { PublicState } from './state-transfer';
import type { Nick, Participant, Seq, SignKeyPair, Sid } from './types';

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
  /** The policy a room this client founds starts with (docs/PROTOCOL.md "Admission policy"). */
  admission?: AdmissionPolicy;
  /** The one-time admission secret (an Ed25519 seed) of the invite this client joins with. */
  inviteSeed?: Uint8Array;
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

export interface Knock {
  nick: Nick;
  lt: Uint8Array;
  /** The join ephemeral of its latest request (a retry renews it). */
  eph: Uint8Array;
  /** The seq the knock was first recorded at; ADMIT and DECLINE name it. */
  seq: number;
}

export interface AnnouncedInvite {
  key: Uint8Array;
  by: Nick;
  seq: number;
  /** Relay time in ms after which it no longer admits anyone, or null. */
  expires: number | null;
  /** The identity that used it first: only that identity may use it again (its retries). */
  usedBy: { nick: Nick; lt: Uint8Array } | null;
}

/** The room's admission state (docs/PROTOCOL.md "Admission policy"; admission.ts). */
export interface AdmissionState {
  policy: AdmissionPolicy;
  /** The seq of the POLICY message in force, 0 for the founding policy. */
  policySeq: number;
  /** Set once a genesis (or a state transfer) fixed the policy: a re-founding keeps it. */
  founded: boolean;
  knocks: Knock[];
  invites: AnnouncedInvite[];
  /** Keys of invites whose user got in: never announced again. */
  spent: Uint8Array[];
}

export const defaultAdmission = (): AdmissionState => ({
  policy: 'open',
  policySeq: 0,
  founded: false,
  knocks: [],
  invites: [],
  spent: [],
});

export type Ordered = Extract<EngineInput, { seq: Seq }>;
export type MessageEvent = Extract<Ordered, { kind: 'message' }>;
export type DropReason = string;
export type Departure = 'left' | 'disconnected' | 'evicted' | 'blamed';
/** What a state transfer attempt rolls back to when it fails (transfer.ts). */
export interface Rollback {
  mode: Mode;
  lastSeq: number;
  effects: number;
}

export const EMPTY = new Uint8Array(0);
export const MAX_BUFFER = 5_000;
export const MAX_DEAD_SESSIONS = 64;
/** Most joiners one batch session admits; later ones wait for the next batch. */
export const MAX_BATCH = 64;
/**
 * How long (relay time) a client that joined the relay room counts as arriving (docs/PROTOCOL.md
 * "Batch admission", B1a): ordered state, the same for every client. Long enough for a joiner
 * whose host is slow to ask (with 1 s, a loaded machine split a burst of three into two batches).
 */
export const ARRIVAL_WINDOW_MS = 5_000;
/** The longest a member holds its front join session for clients still arriving (local). */
export const GATHER_HOLD_MS = 1_000;
/** Most arriving clients remembered; the oldest is forgotten first. */
export const MAX_ARRIVING = 256;

/**
 * What a module calls in a module above it (or a step that admission.ts extends), wired once
 * in engine.ts. Each takes the room first, like every function of the engine.
 */
export interface EngineOps {
  /** ordered.ts: one ordered event (a state transfer replays the buffer through it). */
  onOrdered(room: RoomState, event: Ordered): void;
  /** membership.ts, then admission.ts (spent invites): rule 3's winner becomes current. */
  makeCurrent(room: RoomState, winner: Session, seq: Seq, at: number): void;
  /** admission.ts (a knocker stops asking), then membership.ts. */
  departure(room: RoomState, nick: Nick, how: Departure, seq: Seq, at: number): void;
  /** transfer.ts, then admission.ts: the public state a sponsor sends. */
  exportState(room: RoomState, seq: Seq): PublicState;
  /** transfer.ts, then admission.ts. */
  importState(room: RoomState, state: PublicState): string;
  /** transfer.ts, then admission.ts. */
  restoreRollback(room: RoomState, saved: Rollback): void;
  /** joining.ts */
  sendGenesis(room: RoomState): void;
  /** joining.ts */
  sendJoinRequest(room: RoomState): void;
  /** chat.ts */
  sendChat(room: RoomState, text: string, id?: string, attachment?: Uint8Array): void;
  /** accountability.ts */
  openBlame(
    room: RoomState,
    session: Session,
    cause: BlameRoundCause,
    vetoer: Nick | null,
    seq: Seq,
    at: number,
  ): void;
  /** accountability.ts: a participant that had to reveal is gone. */
  revealerGone(room: RoomState, nick: Nick, seq: Seq, at: number): void;
  /** admission.ts: a join request from a non-member: null queues it, else the outcome. */
  admissionGate(room: RoomState, request: Body<'JOIN_REQUEST'>, event: MessageEvent): string | null;
  /** admission.ts: extra fields of a genesis confirmation (the founding policy). */
  genesisExtras(room: RoomState): { policy?: AdmissionPolicy };
  /** admission.ts: extra fields of a join request (an invite's proof). */
  requestExtras(room: RoomState, nick: Nick, eph: Uint8Array): Partial<Body<'JOIN_REQUEST'>>;
}

export interface RoomState {
  readonly ops: EngineOps;
  readonly config: EngineConfig;
  readonly nick: Nick;
  readonly crypto: Crypto;
  readonly identity: SignKeyPair;
  readonly limboTimeoutMs: number;
  readonly joinRetryMs: number;
  readonly soloAfterRetries: number;
  readonly rekeyIntervalMs: number;
  readonly drainMs: number;
  readonly stallMs: number;

  mode: Mode;
  readonly sessions: Map<Sid, Session>;
  current: Session | null;
  draining: Session | null;
  /** The session current before this one (for LEAVE in flight), whatever its status now. */
  previousCurrent: Session | null;
  pendingJoiners: PendingJoiner[];
  pendingLeavers: Set<Nick>;
  /**
   * The joiners of the batch session on the current session, fixed when it formed; null when
   * there is none (docs/PROTOCOL.md "Batch admission"). Ordered state, like the pending lists.
   */
  batchJoiners: Nick[] | null;
  /** Pending joiners a member reported silent in a batch: they go by one-joiner sessions. */
  unbatchable: Set<Nick>;
  /**
   * Clients that joined the relay room as non-members and have no JOIN_REQUEST ordered yet,
   * with the relay time of their `joined` (docs/PROTOCOL.md rule B1a). Ordered state.
   */
  arriving: Map<Nick, number>;
  /**
   * The batch formed by rule B1a before any member spoke: requests ordered until the first frame
   * of a member of C still join it, as they would have under B1. Ordered state.
   */
  batchOpen: boolean;
  accusations: Map<Nick, Set<Nick>>;
  rekeyRequested: boolean;
  readonly presence: Set<Nick>;
  lastSeq: number;

  // Joiner bookkeeping.
  readonly joinAttempts: Map<string, SignKeyPair>;
  joinRetries: number;
  sawConversation: boolean;
  buffer: Ordered[];
  phase: JoinPhase;

  /** What the current `handle` call returns. */
  effects: Effect[];

  /** At most one blame round at a time; no session is built on C while it is open. */
  blame: BlameRound | null;
  /** Members of C whose next key is about to be revealed and not yet replaced. */
  burned: Set<Nick>;
  /** Participants proven to have cheated: their requests are refused in this room. */
  banned: { nick: Nick; lt: Uint8Array }[];
  /** Our chats waiting for a session without a departed participant. */
  held: { text: string; id?: string }[];
  /** Hash chain over every ordered event since the current session became current. */
  history: Uint8Array;
  readonly genesisKeys: Map<string, { eph: SignKeyPair; sk: Uint8Array; next: SignKeyPair }>;
  readonly pairKeyCache: Map<string, Uint8Array>;
  /** Sids by participant list on the current session (membership.ts `sidOf`): a local cache. */
  readonly sidMemo: Map<string, Uint8Array>;
  /**
   * Joiners whose front session once made the others stall (a local memory, like the stall
   * timer itself: it only decides when we contribute, never what wins). They are not the front
   * again, so one silent joiner costs the joiners behind it one stall period, not one each.
   */
  readonly slowJoiners: Set<Nick>;

  /** The admission policy, the knocks and the invites (admission.ts). */
  admission: AdmissionState;
  /** The invite's key pair, from `config.inviteSeed`, once a request needed it. */
  inviteKeys: SignKeyPair | null;
}

/** A room this client has not arrived in yet. */
export function newRoomState(config: EngineConfig, ops: EngineOps): RoomState {
  return {
    ops,
    config,
    nick: config.nick,
    crypto: config.crypto,
    identity: config.identity,
    limboTimeoutMs: config.limboTimeoutMs ?? 30_000,
    joinRetryMs: config.joinRetryMs ?? 10_000,
    soloAfterRetries: config.soloAfterRetries ?? 3,
    rekeyIntervalMs: config.rekeyIntervalMs ?? 0,
    drainMs: config.drainMs ?? 60_000,
    stallMs: config.stallMs ?? 5_000,
    mode: 'idle',
    sessions: new Map(),
    current: null,
    draining: null,
    previousCurrent: null,
    pendingJoiners: [],
    pendingLeavers: new Set(),
    batchJoiners: null,
    unbatchable: new Set(),
    arriving: new Map(),
    batchOpen: false,
    accusations: new Map(),
    rekeyRequested: false,
    presence: new Set(),
    lastSeq: 0,
    joinAttempts: new Map(),
    joinRetries: 0,
    sawConversation: false,
    buffer: [],
    phase: 'requesting',
    effects: [],
    blame: null,
    burned: new Set(),
    banned: [],
    held: [],
    history: EMPTY,
    genesisKeys: new Map(),
    pairKeyCache: new Map(),
    sidMemo: new Map(),
    slowJoiners: new Set(),
    admission: defaultAdmission(),
    inviteKeys: null,
  };
}
