// Records the store returns and batches it accepts. Protocol values cross this boundary as plain
// strings and numbers (sid: 64 lowercase hex characters; seq: positive integer), so the engine's
// branded types are accepted as they are; the client re-brands what it reads back.
// Timestamps are milliseconds since the Unix epoch.

export type RoomId = number & { readonly __brand: 'RoomId' };

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** 'joined': rejoin on start; 'left': the user left, keep the history. */
export type RoomState = 'joined' | 'left';

export interface RoomRecord {
  readonly id: RoomId;
  readonly relayUrl: string;
  readonly name: string;
  readonly nick: string;
  readonly state: RoomState;
  /** Counts the relay logs read for this room; moves on at every rejoinRoom / leaveRoom. */
  readonly epoch: number;
  /** Last relay seq fully applied in this epoch (0: none yet). */
  readonly cursorSeq: number;
  readonly hasResumeToken: boolean;
  readonly createdAt: number;
  /** The user muted the room's notifications. */
  readonly muted: boolean;
}

export type SessionStatus = 'current' | 'in-limbo' | 'dead';

/** Why the session was created (as SessionView.kind in src-shared/api.ts). */
export type SessionKind = 'genesis' | 'join' | 'batch' | 'leave' | 'rekey';

export interface SessionMember {
  readonly nick: string;
  readonly fingerprint: string;
}

export interface SessionRecord {
  readonly roomId: RoomId;
  readonly sid: string;
  readonly status: SessionStatus;
  readonly kind: SessionKind;
  readonly parentSid: string | null;
  readonly reason: string;
  readonly members: readonly SessionMember[];
  /** Join progress as the engine reports it (tokens, shares, confirmations); opaque here. */
  readonly progress: JsonValue;
  /** Batch sessions: the joiners it admits together, in the session's order; otherwise null. */
  readonly joiners: readonly string[] | null;
  readonly createdSeq: number;
  readonly updatedSeq: number;
  readonly createdAt: number;
  /** Secrets are read separately (getSessionSecret), so records can go to the UI as they are. */
  readonly hasSecret: boolean;
}

export interface SessionHistoryRecord {
  readonly roomId: RoomId;
  readonly sid: string;
  readonly status: SessionStatus;
  readonly reason: string;
  /** Triggering relay event; null for a change made outside an event (leave, rejoin). */
  readonly seq: number | null;
  readonly at: number;
}

export type Verification = 'verified' | 'unverified' | 'key-changed';
/** As in the IPC contract (src-shared/api.ts ChatMessage.transcript). */
export type TranscriptStatus = 'ok' | 'mismatch' | 'unknown';

export interface MessageRecord {
  readonly roomId: RoomId;
  readonly epoch: number;
  readonly seq: number;
  readonly sid: string;
  readonly senderNick: string;
  readonly senderFingerprint: string;
  readonly body: string;
  readonly sentAt: number | null;
  readonly receivedAt: number;
  readonly verification: Verification;
  readonly transcript: TranscriptStatus;
}

/** A position in a room's history: messages sort by (epoch, seq). */
export interface MessagePosition {
  readonly epoch: number;
  readonly seq: number;
}

export interface PendingKeyChange {
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly seenSeq: number;
}

export interface KnownKeyRecord {
  readonly roomId: RoomId;
  readonly nick: string;
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly firstSeenSeq: number;
  readonly verified: boolean;
  readonly pending: PendingKeyChange | null;
}

export interface SnapshotRecord {
  readonly roomId: RoomId;
  readonly epoch: number;
  readonly seq: number;
  readonly snapshot: Uint8Array;
  readonly writtenAt: number;
}

export interface EventLogRecord {
  readonly roomId: RoomId;
  readonly epoch: number;
  readonly seq: number;
  readonly type: string;
  readonly size: number;
  /** 'accepted', or the stable name of the check that dropped the event. */
  readonly outcome: string;
  readonly at: number;
}

export interface IdentityRecord {
  readonly publicKey: Uint8Array;
  readonly createdAt: number;
}

// ---------------------------------------------------------------------------------------------
// What one relay event changed: applied by Store.applyEvent in one transaction.

export interface SessionUpsert {
  readonly sid: string;
  readonly status: SessionStatus;
  /** Stored when the session is first written; later upserts cannot change it. */
  readonly kind: SessionKind;
  readonly parentSid: string | null;
  readonly reason: string;
  readonly members: readonly SessionMember[];
  readonly progress: JsonValue;
  /**
   * Batch sessions only (migration 7): the joiners it admits. Kept from the first write that
   * gives them; a non-batch session with joiners is refused by the schema.
   */
  readonly joiners?: readonly string[] | null;
  /**
   * undefined keeps the stored secret, null removes it, bytes replace it. A session that becomes
   * dead loses its secret whatever is passed here (passing bytes with 'dead' is a misuse).
   */
  readonly secret?: Uint8Array | null;
}

export interface SessionStatusChange {
  readonly sid: string;
  readonly status: SessionStatus;
  readonly reason: string;
}

/** The event's chat message; its seq is the event's seq. */
export interface NewMessage {
  readonly sid: string;
  readonly senderNick: string;
  readonly senderFingerprint: string;
  readonly body: string;
  readonly sentAt?: number | null;
  readonly verification: Verification;
  readonly transcript: TranscriptStatus;
}

/** A nick was seen with a long-term key; the store applies trust on first use. */
export interface KeySighting {
  readonly nick: string;
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
}

/**
 * new: first key for this nick in this room, remembered.
 * known: matches the remembered key (a pending change, if any, stays pending).
 * changed: differs from the remembered key; now pending until accepted or verified.
 * still-pending: the same different key again, already pending.
 */
export type KeySightingOutcome = 'new' | 'known' | 'changed' | 'still-pending';

export interface EventLogEntry {
  readonly type: string;
  readonly size: number;
  readonly outcome: string;
}

export interface EventChanges {
  /** Every processed event is logged, dropped ones included. */
  readonly log: EventLogEntry;
  /** Engine state after this event; omit when the event did not change it. */
  readonly snapshot?: Uint8Array;
  readonly sessions?: readonly SessionUpsert[];
  readonly history?: readonly SessionStatusChange[];
  readonly message?: NewMessage;
  readonly keySightings?: readonly KeySighting[];
  /** A file offer (with `message`, the message announcing it), chunk or failure. */
  readonly file?: FileChange;
}

export interface ApplyResult {
  readonly cursorSeq: number;
  /** One per keySightings entry, same order. */
  readonly keySightings: readonly { readonly nick: string; readonly outcome: KeySightingOutcome }[];
}

// ---------------------------------------------------------------------------------------------
// Team relays, settings, the outbox and the timeline's notices (migration 5).

export interface RelayRecord {
  readonly url: string;
  readonly hasToken: boolean;
  readonly addedAt: number;
}

export type OutboxState = 'sending' | 'failed';

/** A message typed but not yet ordered by the relay. */
export interface OutboxRecord {
  readonly roomId: RoomId;
  readonly id: string;
  readonly body: string;
  readonly state: OutboxState;
  readonly error: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type NoticeKind = 'joining' | 'joined' | 'left' | 'cannot-read' | 'warning';

export interface NoticeRecord {
  readonly roomId: RoomId;
  readonly epoch: number;
  readonly seq: number;
  readonly kind: NoticeKind;
  readonly nick: string | null;
  readonly text: string;
  readonly at: number;
}

export type FileState = 'receiving' | 'complete' | 'failed';

/** A file offer as it arrives (docs/PROTOCOL.md "Files"); `key` and `hash` are 32 bytes. */
export interface NewFile {
  readonly fileId: string;
  readonly senderNick: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly chunkBytes: number;
  readonly chunkCount: number;
  readonly hash: Uint8Array;
  readonly key: Uint8Array;
  /** The start of the reassembly hash chain. */
  readonly chain: Uint8Array;
  /** Set when the file is refused on arrival (too large): stored as failed, with no key. */
  readonly error?: string;
}

/** What one relay event did to a file: announced it, added its next chunk, or failed it. */
export type FileChange =
  | { readonly kind: 'offer'; readonly file: NewFile }
  | {
      readonly kind: 'chunk';
      readonly fileId: string;
      readonly index: number;
      /** The chunk's plaintext; the store seals it. */
      readonly data: Uint8Array;
      readonly next: number;
      readonly chain: Uint8Array;
      readonly complete: boolean;
    }
  | { readonly kind: 'fail'; readonly fileId: string; readonly error: string };

export interface FileRecord {
  readonly roomId: RoomId;
  readonly fileId: string;
  /** The message that announced it. */
  readonly epoch: number;
  readonly seq: number;
  readonly senderNick: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly chunkBytes: number;
  readonly chunkCount: number;
  readonly state: FileState;
  readonly nextChunk: number;
  readonly chain: Uint8Array;
  /** The hash of the ciphertext the sender announced. */
  readonly hash: Uint8Array;
  readonly error: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}
