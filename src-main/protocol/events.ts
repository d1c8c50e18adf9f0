// What the engine consumes and what it asks its host to do. The engine performs no I/O: every
// input arrives here, every output leaves as an Effect.
import type { AdmissionPolicy, RefusalReason } from './codec';
import type { Nick, Seq, Sid } from './types';
import type { SessionStatus } from './transitions';

/** Ordered events from the relay, in `seq` order, plus local inputs (timers, user commands). */
export type EngineInput =
  | { kind: 'joined'; seq: Seq; nick: Nick; at: number; membersBefore?: readonly Nick[] }
  | { kind: 'left'; seq: Seq; nick: Nick; at: number }
  | { kind: 'message'; seq: Seq; nick: Nick; data: Uint8Array; at: number }
  | { kind: 'timer'; key: string; at: number }
  /** `attachment`: a file offer or chunk (files.ts), sealed with the text. */
  | { kind: 'send-chat'; text: string; at: number; id?: string; attachment?: Uint8Array }
  | { kind: 'leave'; at: number }
  | { kind: 'rekey'; at: number }
  /** Admission commands of a member (docs/PROTOCOL.md "Admission policy"); each sends one message. */
  | { kind: 'set-policy'; policy: AdmissionPolicy; at: number }
  | { kind: 'admit'; nick: Nick; knock: number; at: number }
  | { kind: 'decline'; nick: Nick; knock: number; at: number }
  /** Announce an invite's public key (the host keeps the secret and puts it in the invite). */
  | { kind: 'announce-invite'; key: Uint8Array; expires?: number; at: number }
  /** After restoring from a snapshot: re-arm the timers the previous process had armed. */
  | { kind: 'restored'; at: number };

export interface Progress {
  sid: Sid;
  kind: SessionKind;
  participants: number;
  tokens: { have: number; need: number };
  shares: { have: number; need: number };
  confirmations: { have: number; need: number };
  /** Batch sessions only: the joiners it admits together, in the session's order. */
  joiners?: Nick[];
}

/**
 * `batch`: C's members plus every pending joiner at once, one sid (docs/PROTOCOL.md "Batch
 * admission"); `join` stays the one-joiner fallback.
 */
export type SessionKind = 'genesis' | 'join' | 'batch' | 'leave' | 'rekey';

export type JoinPhase =
  | 'requesting'
  | 'waiting-for-members'
  | 'authenticating'
  | 'founding-room'
  | 'member'
  | 'left'
  /** Our request is a knock: a member has to let us in. */
  | 'knocking'
  /** The room refused our request (declined, or invitation only): we stop asking. */
  | 'refused';

/** A request waiting for a member's answer, as members see it. */
export interface KnockView {
  nick: Nick;
  /** The long-term key's fingerprint, as the verify dialog shows it. */
  fingerprint: string;
  /** The seq the knock was recorded at: ADMIT and DECLINE name it. */
  seq: Seq;
}

/** The room's admission state, derived by every client from the ordered stream. */
export interface AdmissionView {
  policy: AdmissionPolicy;
  knocks: KnockView[];
  /** Announced invites not yet used. */
  invites: number;
}

export type AppEvent =
  | {
      type: 'session';
      sid: Sid;
      status: SessionStatus;
      members: Nick[];
      reason: string;
      seq: Seq;
      parent: Sid | null;
      kind: SessionKind;
      /** Batch sessions only: the joiners it admits together. */
      joiners?: Nick[];
      /** Set on the announcement of a session restored from a snapshot at start. */
      restored?: boolean;
    }
  | { type: 'member-joining'; nick: Nick; sid: Sid; seq: Seq }
  | { type: 'member-joined'; nick: Nick; sid: Sid; seq: Seq }
  | { type: 'member-left'; nick: Nick; sid: Sid; seq: Seq; reason: string }
  | { type: 'member-cannot-read'; nick: Nick; sid: Sid; seq: Seq }
  | { type: 'progress'; progress: Progress; seq: Seq }
  | { type: 'join-phase'; phase: JoinPhase; detail: string }
  | {
      type: 'message';
      from: Nick;
      text: string;
      sid: Sid;
      seq: Seq;
      transcript: 'ok' | 'mismatch' | 'unknown';
      fingerprint: string;
      /** A file offer or chunk (files.ts), as the sender sealed it; unchecked by the engine. */
      attachment?: Uint8Array;
    }
  | { type: 'warning'; code: WarningCode; message: string; seq?: Seq }
  /**
   * A participant proven to have misbehaved, decided at one ordered event by every honest
   * client alike (docs/PROTOCOL.md "Accountability"). `message` is the sentence users see.
   */
  | {
      type: 'blame';
      nick: Nick;
      cause: BlameCause;
      message: string;
      sid: Sid;
      seq: Seq;
      removed: boolean;
    }
  /** A blame round opened on a failed session: `need` must reveal their ephemeral secrets. */
  | { type: 'blame-round'; sid: Sid; cause: BlameRoundCause; need: Nick[]; seq: Seq }
  /**
   * Our chat waits: someone whose departure is ordered is still in the current session, so
   * nothing new is encrypted to it; it goes out under the next session (or fails).
   */
  | { type: 'chat-held'; id?: string; text: string; reason: string }
  | { type: 'chat-released'; id?: string; sid: Sid }
  | { type: 'chat-failed'; id?: string; text: string; reason: string }
  | { type: 'log'; seq: Seq; eventType: string; size: number; outcome: string }
  /**
   * The admission state changed (policy, knocks, invites) at `seq`; `change` says what, e.g.
   * "bob asks to join", "alice admitted bob", "carol set the room to invite only".
   */
  | { type: 'admission'; admission: AdmissionView; change: string; seq: Seq }
  /** Why our own request was refused (the joiner's side). */
  | { type: 'refused'; reason: RefusalReason | 'declined'; by?: Nick; message: string };

/** Why a blame round opened: shares that do not add up, a member's veto, a joiner's complaint. */
export type BlameRoundCause = 'inconsistent-shares' | 'veto' | 'complaint';

export type BlameCause =
  | 'wrong-share'
  | 'false-veto'
  | 'bad-joiner-token'
  | 'bad-member-token'
  | 'false-complaint'
  | 'bad-reveal'
  | 'no-reveal'
  | 'reported-by-majority';

export type WarningCode =
  | 'transcript-mismatch'
  | 'key-mismatch'
  | 'inconsistent-shares'
  | 'dropped-invalid-message'
  | 'eviction'
  | 'bad-joiner-token'
  | 'bad-member-token'
  | 'sid-collision'
  | 'state-transfer'
  | 'blame'
  | 'blame-round'
  | 'seq-gap'
  /** Raised by the client (trust on first use), not the engine. */
  | 'identity-key-changed';

export type Effect =
  | { type: 'send'; data: Uint8Array }
  | { type: 'event'; event: AppEvent }
  | { type: 'arm-timer'; key: string; afterMs: number }
  | { type: 'cancel-timer'; key: string }
  | { type: 'persist'; seq: Seq };
