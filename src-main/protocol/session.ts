// One session: its public face (participants, who contributed, who confirmed, status history),
// which every client of the room tracks alike, and the private keys of a client taking part.
import type { Progress, SessionKind } from './events';
import type { Nick, Participant, Seq, SignKeyPair, Sid } from './types';
import type { SessionStatus, TransitionReason } from './transitions';
import { checkTransition, describeReason } from './transitions';

export interface HistoryEntry {
  status: SessionStatus;
  reason: string;
  seq: Seq;
  at: number;
}

/** Secrets of a participant; absent for sessions this client only observes. */
export interface OwnPart {
  index: number;
  eph: SignKeyPair;
  /** s_i and s_{i-1}, once computed. */
  ringSecret: Uint8Array;
  /** Pairwise keys k_ij by participant index (neighbours, and the joiner or all members). */
  pairKeys: Map<number, Uint8Array>;
  /** Tokens addressed to us that verified, by sender index. */
  tokensOk: Set<number>;
  parentTranscript: Uint8Array;
  sk: Uint8Array | null;
  next: SignKeyPair | null;
  /** Transcript chain over this session's CHAT, as (seq, hash) points. */
  chain: { seq: number; hash: Uint8Array }[];
  sendCounter: number;
  /** Recent CHAT (sender:number) with the seq it arrived at, against replays. */
  seenChat: Map<string, number>;
  /** CHAT whose sender had processed less than this is refused (older than the window). */
  replayFloor: number;
  /** Participants whose confirmation disagreed with our key or transcript. */
  mismatched: Set<Nick>;
  /** The shares did not add up to zero: we refused to confirm. */
  inconsistent: boolean;
}

export class Session {
  status: SessionStatus = 'in-limbo';
  readonly history: HistoryEntry[] = [];
  readonly shares: (Uint8Array | null)[];
  /** Next ephemeral public key announced in each participant's confirmation. */
  readonly confirmed: (Uint8Array | null)[];
  readonly indexByNick = new Map<Nick, number>();
  own: OwnPart | null = null;
  /** Join sessions only: the members that vetoed the joiner's token. */
  readonly vetoes = new Set<Nick>();
  /** Our contribution waits until this join session reaches the front (or stalls). */
  deferred = false;
  /** Our transcript hash of the parent at the event that created this session. */
  parentTranscript: Uint8Array | null = null;
  /** The joiner's tokens, kept in case our own contribution comes later. */
  joinerKcs: readonly (Uint8Array | null)[] | null = null;
  /** Join sessions: each member's public token to the joiner (a joiner's complaint is judged on it). */
  readonly memberKcs: (Uint8Array | null)[];
  /** Join and batch sessions: the joiners it admits (a join session's is `[joiner]`). */
  readonly joiners: readonly Nick[];
  /** Batch sessions: each joiner's tokens to the members (its JOINER_AUTH), by joiner index. */
  readonly batchKcs = new Map<number, readonly (Uint8Array | null)[]>();
  /** Batch sessions: each member's tokens to the joiners (its PARTICIPANTS_INFO), by member index. */
  readonly batchMkcs = new Map<number, readonly (Uint8Array | null)[]>();
  /** Batch sessions, a local note: our stall timer fired, so the one-joiner sessions go ahead. */
  stalled = false;
  /** Join sessions, a local note: our confirmation waits while a batch covers the joiner. */
  heldForBatch = false;
  /** Join sessions, a local note: our gather timer fired, so we no longer hold it (rule B1a). */
  gatherDone = false;

  constructor(
    readonly sid: Sid,
    readonly sidBytes: Uint8Array,
    readonly parent: Sid | null,
    readonly kind: SessionKind,
    readonly participants: readonly Participant[],
    readonly joiner: Nick | null,
    readonly createdSeq: Seq,
    readonly createdAt: number,
    batchJoiners: readonly Nick[] = [],
  ) {
    participants.forEach((p, i) => this.indexByNick.set(p.nick, i));
    this.joiners = kind === 'batch' ? batchJoiners : joiner === null ? [] : [joiner];
    this.shares = participants.map(() => null);
    this.confirmed = participants.map(() => null);
    this.memberKcs = participants.map(() => null);
  }

  get members(): Nick[] {
    return this.participants.map((p) => p.nick);
  }

  get joinerIndex(): number {
    return this.joiner === null ? -1 : (this.indexByNick.get(this.joiner) ?? -1);
  }

  /** A joiner of this join or batch session (not yet a member of the parent). */
  isJoiner(nick: Nick): boolean {
    return this.joiners.includes(nick);
  }

  isJoinerIndex(index: number): boolean {
    const p = this.participants[index];
    return p !== undefined && this.joiners.includes(p.nick);
  }

  /** The tokens a participant at `index` must verify before confirming: one per counterpart. */
  tokensNeeded(index: number): number {
    if (this.kind !== 'join' && this.kind !== 'batch') return 0;
    const k = this.joiners.length;
    return this.isJoinerIndex(index) ? this.participants.length - k : k;
  }

  /** The joiner at `joinerIndex`'s token to the participant at `index`, once ordered. */
  joinerTokenTo(joinerIndex: number, index: number): Uint8Array | null {
    const kcs = this.kind === 'batch' ? this.batchKcs.get(joinerIndex) : this.joinerKcs;
    return kcs?.[index] ?? null;
  }

  /** The member at `memberIndex`'s token to the joiner at `joinerIndex`, once ordered. */
  memberTokenTo(memberIndex: number, joinerIndex: number): Uint8Array | null {
    if (this.kind !== 'batch') return this.memberKcs[memberIndex] ?? null;
    return this.batchMkcs.get(memberIndex)?.[joinerIndex] ?? null;
  }

  record(status: SessionStatus, reason: TransitionReason, seq: Seq, at: number): string {
    const text = describeReason(reason);
    this.history.push({ status, reason: text, seq, at });
    return text;
  }

  /** Apply a status change through the transition table. Returns the reason text, or null. */
  transition(to: SessionStatus, reason: TransitionReason, seq: Seq, at: number): string | null {
    const check = checkTransition(this.status, to);
    if (!check.ok) return null;
    this.status = to;
    if (to === 'dead') this.wipeSecrets();
    return this.record(to, reason, seq, at);
  }

  allConfirmed(): boolean {
    return this.confirmed.every((c) => c !== null);
  }

  allShares(): boolean {
    return this.shares.every((s) => s !== null);
  }

  progress(): Progress {
    const n = this.participants.length;
    const tokensNeed = this.own ? this.tokensNeeded(this.own.index) : 0;
    return {
      sid: this.sid,
      kind: this.kind,
      participants: n,
      tokens: {
        have: this.own ? Math.min(this.own.tokensOk.size, tokensNeed) : 0,
        need: tokensNeed,
      },
      shares: { have: this.shares.filter((s) => s !== null).length, need: n },
      confirmations: { have: this.confirmed.filter((c) => c !== null).length, need: n },
      ...(this.kind === 'batch' ? { joiners: [...this.joiners] } : {}),
    };
  }

  /** Forget every secret of a session that can no longer be used (architecture rule 6). */
  wipeSecrets(): void {
    const own = this.own;
    if (!own) return;
    own.ringSecret.fill(0);
    for (const k of own.pairKeys.values()) k.fill(0);
    own.pairKeys.clear();
    own.sk?.fill(0);
    own.sk = null;
    // The ephemeral secret may still sign for a sibling session (members reuse one next key on
    // a parent), so it is not zeroed here; this session just stops holding it.
    own.eph = { publicKey: own.eph.publicKey, secretKey: new Uint8Array(0) };
  }
}
