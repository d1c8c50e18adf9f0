// The per-room ordered log: the single source of truth for order, sequence numbers and
// membership. Membership lives here rather than in the server because "nick is free" and
// "append `joined` with the next seq" must be one atomic step on whichever backend holds the
// log (one process in memory, or many relay nodes sharing Redis). The server never decides
// order itself: it delivers to its local members exactly what `subscribe` yields.
import type { Nick, Owner, RoomEvent, RoomId, Seq } from './wire';

/** Which attachment of which nick in which room a call is about. */
export interface Attachment {
  readonly room: RoomId;
  readonly nick: Nick;
  readonly owner: Owner;
}

export interface RetentionLimits {
  /** Keep at most this many events per room. */
  readonly count: number;
  /** Drop events older than this; forget a room this long after it became empty. */
  readonly ageMs: number;
}

export type JoinResult =
  | { readonly ok: true; readonly event: RoomEvent; readonly members: Nick[] }
  | { readonly ok: false; readonly code: 'NICK_TAKEN' | 'ROOM_FULL' };

export type ResumeResult =
  | { readonly ok: true; readonly head: Seq; readonly members: Nick[] }
  | {
      readonly ok: false;
      readonly code: 'NICK_TAKEN' | 'GAP_UNAVAILABLE' | 'BAD_REQUEST';
      readonly message: string;
    };

export type AppendResult =
  | { readonly ok: true; readonly event: RoomEvent }
  | { readonly ok: false; readonly code: 'NOT_IN_ROOM' };

export type EventListener = (event: RoomEvent) => void;

/**
 * All methods that take an Attachment check that `owner` still holds `nick` in `room`; a
 * mismatch means another connection resumed the nick (or it expired) and the caller lost it.
 * Storage failures reject the promise (the server answers `UNAVAILABLE`).
 */
export interface RoomLog {
  readonly kind: 'memory' | 'redis';

  /** Claims a free nick and appends its `joined`; `members` are the nicks present before it. */
  join(at: Attachment, resumeTokenHash: Buffer, maxMembers: number): Promise<JoinResult>;

  /**
   * Hands a still-reserved nick to a new owner if the token hash matches (compared in constant
   * time) and every event after `since` is still retained. Appends nothing.
   */
  resume(at: Attachment, resumeTokenHash: Buffer, since: Seq): Promise<ResumeResult>;

  /** Appends a `message` from the attachment's nick. */
  append(at: Attachment, data: Uint8Array): Promise<AppendResult>;

  /** Releases the nick and appends its `left`. */
  leave(at: Attachment): Promise<AppendResult>;

  /** The connection dropped: keep the nick reserved for `graceMs`, then `expire` releases it. */
  detach(at: Attachment, graceMs: number): Promise<void>;

  /** Grace is over: if `owner` still holds the nick (nobody resumed), release it with `left`. */
  expire(at: Attachment): Promise<RoomEvent | null>;

  /** Up to `limit` retained events with seq > afterSeq, in order (empty or not contiguous with
   *  afterSeq when retention already dropped them: callers check). */
  read(room: RoomId, afterSeq: Seq, limit: number): Promise<RoomEvent[]>;

  /**
   * Calls `listener` for every event with seq > afterSeq, in order, until unsubscribed. At most
   * one subscription per room per log instance (the server keeps one feed per room).
   */
  subscribe(room: RoomId, afterSeq: Seq, listener: EventListener): () => void;

  /** False while the backend is unreachable (reported by /healthz). */
  healthy(): boolean;

  close(): Promise<void>;
}
