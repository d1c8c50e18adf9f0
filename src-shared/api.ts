// The one typed contract between the client runtime (main process, headless hosts) and the
// renderer. Pure types and constants: it is imported by main, preload and renderer alike, so it
// must not import Node or Electron. Replies are `{ ok: true, value } | { ok: false, error }`.

import type { ApiErrorCode } from './api-errors';

export type { ApiErrorCode };

export type Reply<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** The codes are listed once, in api-errors.ts. */
export interface ApiError {
  code: ApiErrorCode;
  message: string;
}

export type SessionStatus = 'current' | 'in-limbo' | 'dead';
export type JoinPhase =
  | 'connecting'
  | 'requesting'
  | 'waiting-for-members'
  | 'authenticating'
  | 'founding-room'
  | 'member'
  | 'left'
  /** Our request is a knock: waiting for a member to let us in. */
  | 'knocking'
  /** The room refused our request (declined, or invitation only). */
  | 'refused';
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/**
 * Why a room cannot reach its relay: 'unreachable' (nothing answers in time), 'tls' (the
 * certificate was refused), 'auth' (the relay refused the access token), 'refused' (another
 * refusal, e.g. the nickname is taken). The room stops retrying until the user retries.
 */
export interface RoomFailure {
  kind: 'unreachable' | 'tls' | 'auth' | 'refused';
  message: string;
}

export type Theme = 'system' | 'light' | 'dark';

/** The profile's settings (stored in the profile database, in the main process). */
export interface Settings {
  theme: Theme;
  /** Desktop notifications for messages in rooms not in view. */
  notifications: boolean;
  /** Show the message text in notifications; off by default (sender and room only). */
  notificationText: boolean;
  /** Periodic rekey of every room, in hours; 0 turns it off. */
  rekeyIntervalHours: number;
  /** The relay the join form offers first; null: the built-in one. */
  defaultRelayUrl: string | null;
}

export const REKEY_CHOICES_HOURS: readonly number[] = [0, 24, 168];

export interface RelayInfo {
  url: string;
  /** A token is stored for it (the token itself never leaves the main process). */
  hasToken: boolean;
  /** The relay built into this app (or the host's --relay). */
  builtIn: boolean;
  isDefault: boolean;
}

/** A message typed but not yet ordered by the relay: its reflection has not come back. */
export interface PendingMessage {
  id: string;
  text: string;
  at: number;
  state: 'sending' | 'failed';
  error: string | null;
}

export interface InviteOffer {
  /** The invite to confirm, or null when the link was refused (error says why). */
  invite: { relayUrl: string; room: string; token: string | null; secret?: string } | null;
  error: string | null;
}

export interface IdentityInfo {
  fingerprint: string;
  createdAt: number;
}

export interface RoomSummary {
  id: string;
  relayUrl: string;
  room: string;
  nick: string;
  connection: ConnectionState;
  phase: JoinPhase;
  members: string[];
  unread: number;
  muted: boolean;
  failure: RoomFailure | null;
}

export interface ProgressCounts {
  tokens: { have: number; need: number };
  shares: { have: number; need: number };
  confirmations: { have: number; need: number };
}

export interface SessionView {
  sid: string;
  status: SessionStatus;
  kind: 'genesis' | 'join' | 'batch' | 'leave' | 'rekey';
  parent: string | null;
  members: string[];
  /** Batch sessions only: the joiners it admits together, in the session's order. */
  joiners?: string[];
  reason: string;
  createdSeq: number;
  createdAt: number;
  progress: ProgressCounts;
  history: { status: SessionStatus; reason: string; seq: number; at: number }[];
}

export type MemberState = 'member' | 'joining' | 'leaving' | 'cannot-read';

export interface MemberView {
  nick: string;
  state: MemberState;
  fingerprint: string | null;
  verified: boolean;
  keyChanged: boolean;
  /** For joining members: the progress of their join session (or of the batch admitting them). */
  progress: ProgressCounts | null;
}

/** Who may enter a room (docs/PROTOCOL.md "Admission policy"). */
export type AdmissionPolicy = 'open' | 'knock' | 'invite';
export const ADMISSION_POLICY_NAMES: Record<AdmissionPolicy, string> = {
  open: 'Open',
  knock: 'Knock',
  invite: 'Invite only',
};
/** Every admission policy, in the order the CLIs' `--admission` help lists them. */
export const ADMISSION_POLICIES: readonly AdmissionPolicy[] = ['open', 'knock', 'invite'];
/** The CLIs' error for an `--admission` value that is not a policy. */
export const ADMISSION_OPTION_ERROR = '--admission takes open, knock or invite';
/** Whether `value` names an admission policy (a CLI's `--admission`, say). */
export function isAdmissionPolicy(value: unknown): value is AdmissionPolicy {
  return typeof value === 'string' && (ADMISSION_POLICIES as readonly string[]).includes(value);
}

/** Someone asking to join, waiting for a member's answer. */
export interface KnockView {
  nick: string;
  /** The long-term key's fingerprint, as the verify dialog shows it. */
  fingerprint: string;
  /** The seq the knock was recorded at (answerKnock names it). */
  seq: number;
}

export interface AdmissionView {
  policy: AdmissionPolicy;
  knocks: KnockView[];
  /** Announced invites not yet used. */
  invites: number;
}

export interface RoomState {
  id: string;
  room: string;
  nick: string;
  relayUrl: string;
  connection: ConnectionState;
  phase: JoinPhase;
  phaseDetail: string;
  current: { sid: string; members: string[] } | null;
  members: MemberView[];
  sessions: SessionView[];
  /** Why the composer is disabled, or null when sending is possible. */
  cannotSend: string | null;
  /** Set when the room gave up reaching its relay (Retry or Remove in the UI). */
  failure: RoomFailure | null;
  muted: boolean;
  /**
   * Signature checks done ahead of the engine on worker threads, for this whole client (every
   * room): null when it runs none (every check on the main thread).
   */
  verification: VerificationView | null;
  /**
   * Participants proven (or reported by most members) to have misbehaved in this room, with
   * the sentence shown to users (docs/PROTOCOL.md "Accountability"); oldest first.
   */
  blames: BlameView[];
  /** Our messages waiting for the room to re-key (nothing is sent to a departed member). */
  held: number;
  /** The room's admission state; null until we follow the room (a joiner waiting outside). */
  admission: AdmissionView | null;
}

export interface BlameView {
  nick: string;
  cause: string;
  message: string;
  seq: number;
  sid: string;
}

export interface VerificationView {
  threads: number;
  /** Checked by a worker (a success is then not repeated by the engine). */
  verified: number;
  /** Taken back from the workers' queue by the main thread and checked there. */
  stolen: number;
  /** Checked by a worker and refused (the engine checks those again and drops them). */
  failed: number;
}

export interface ChatMessage {
  seq: number;
  sid: string;
  from: string;
  fingerprint: string;
  text: string;
  at: number;
  transcript: 'ok' | 'mismatch' | 'unknown';
  own: boolean;
  /** The file this message announced (docs/PROTOCOL.md "Files"). */
  file?: FileView;
}

/**
 * An encrypted file in a room. `done` of `total` chunks are in this client's store (for the
 * sender: its own chunks back from the relay, in order); bytes are readable only when complete.
 */
export interface FileView {
  id: string;
  name: string;
  mime: string;
  size: number;
  state: 'receiving' | 'complete' | 'failed';
  done: number;
  total: number;
  error: string | null;
  /** A type the renderer previews inline (PNG, JPEG, GIF, WebP), checked again on the bytes. */
  preview: boolean;
}

/** The largest part of a file carried by one sendFilePart or readFile call (raw bytes). */
export const FILE_PART_BYTES = 512 * 1024;

export interface RoomNotice {
  seq: number;
  kind:
    | 'joining'
    | 'joined'
    | 'left'
    | 'cannot-read'
    | 'warning'
    | 'blame'
    | 'held'
    /** An admission change: a knock, an answer, a policy change, an invite. */
    | 'admission';
  nick: string | null;
  text: string;
  at: number;
}

export interface EventLogEntry {
  seq: number;
  type: string;
  size: number;
  outcome: string;
  at: number;
}

export interface KnownKey {
  nick: string;
  fingerprint: string;
  verified: boolean;
  pendingFingerprint: string | null;
}

/** Events pushed to subscribers (the renderer, the headless CLI). */
export type ClientEvent =
  | { type: 'room-updated'; roomId: string; state: RoomState }
  | { type: 'message'; roomId: string; message: ChatMessage }
  | { type: 'notice'; roomId: string; notice: RoomNotice }
  | { type: 'log'; roomId: string; entry: EventLogEntry }
  | { type: 'rooms-changed'; rooms: RoomSummary[] }
  /** A file's progress or outcome (receiving, complete, failed) in a room. */
  | { type: 'file-updated'; roomId: string; seq: number; file: FileView }
  | { type: 'outbox'; roomId: string; pending: PendingMessage[] }
  | { type: 'invite'; offer: InviteOffer }
  | { type: 'settings'; settings: Settings };

/** Every request the renderer may make: name -> [argument, result]. */
export interface ApiMethods {
  identity: [null, IdentityInfo | null];
  createIdentity: [null, IdentityInfo];
  listRooms: [null, RoomSummary[]];
  /**
   * `admission`: the policy if this client founds the room (default: the host's, knock);
   * `inviteSecret`: the invite's one-time admission secret (base64url), for an invite-only room.
   */
  joinRoom: [
    {
      relayUrl: string;
      room: string;
      nick: string;
      token?: string;
      admission?: AdmissionPolicy;
      inviteSecret?: string;
    },
    RoomSummary,
  ];
  /** A member changes the room's admission policy (decided when the relay orders it). */
  setAdmission: [{ roomId: string; policy: AdmissionPolicy }, null];
  /** A member lets a knock in (admit) or turns it away; `seq` names the knock. */
  answerKnock: [{ roomId: string; nick: string; seq: number; admit: boolean }, null];
  leaveRoom: [{ roomId: string }, null];
  /** Retry reaching the relay of a room that gave up (RoomFailure). */
  retryRoom: [{ roomId: string }, null];
  /** Forget a room that never got in (or leave it, keeping its history, if it did). */
  removeRoom: [{ roomId: string }, null];
  setMuted: [{ roomId: string; muted: boolean }, null];
  sendMessage: [{ roomId: string; text: string }, PendingMessage];
  retryMessage: [{ roomId: string; id: string }, null];
  discardMessage: [{ roomId: string; id: string }, null];
  outbox: [{ roomId: string }, PendingMessage[]];
  roomState: [{ roomId: string }, RoomState];
  history: [{ roomId: string; beforeSeq?: number; limit?: number }, ChatMessage[]];
  notices: [{ roomId: string }, RoomNotice[]];
  eventLog: [{ roomId: string; limit?: number }, EventLogEntry[]];
  knownKeys: [{ roomId: string }, KnownKey[]];
  safetyNumber: [{ roomId: string; nick: string }, string];
  markVerified: [{ roomId: string; nick: string }, null];
  acceptKeyChange: [{ roomId: string; nick: string }, null];
  exportDebug: [{ roomId: string }, string];
  /** Every open room's debug bundle in one file (the settings view's export). */
  exportAllDebug: [null, string];
  defaultRelayUrl: [null, string];
  /** The largest file this client sends or receives, in bytes. */
  fileLimit: [null, number];
  /** Starts handing a file to the runtime; it is sent once every part is in (sendFileCommit). */
  sendFileStart: [
    { roomId: string; name: string; mime: string; size: number; text?: string },
    { uploadId: string },
  ];
  /** The next part (base64, at most FILE_PART_BYTES raw), in order; replies the bytes so far. */
  sendFilePart: [{ uploadId: string; data: string }, { received: number }];
  /** Encrypts the file, announces it and starts sending its chunks. */
  sendFileCommit: [{ uploadId: string }, { fileId: string }];
  /** A complete file's bytes from `offset` (base64, at most FILE_PART_BYTES). */
  readFile: [
    { roomId: string; fileId: string; offset: number },
    { data: string; size: number; mime: string },
  ];
  /** In an invite-only room the invite carries a fresh one-time secret (`oneTime`). */
  createInvite: [
    { roomId: string },
    { link: string; text: string; hasToken: boolean; oneTime: boolean },
  ];
  /** The invite the OS or the host's command line handed the app, once (to confirm). */
  takeInvite: [null, InviteOffer | null];
  getSettings: [null, Settings];
  updateSettings: [Partial<Settings>, Settings];
  listRelays: [null, RelayInfo[]];
  /** Remembers a relay; token undefined keeps the stored one, null removes it. */
  saveRelay: [{ url: string; token?: string | null }, RelayInfo[]];
  removeRelay: [{ url: string }, RelayInfo[]];
  /** What the user sees: the room in view, whether the window has focus, the unread total. */
  viewState: [{ roomId: string | null; focused: boolean; unread: number }, null];
}

export type ApiMethod = keyof ApiMethods;
export type ApiArg<M extends ApiMethod> = ApiMethods[M][0];
export type ApiResult<M extends ApiMethod> = ApiMethods[M][1];

export const API_METHODS: readonly ApiMethod[] = [
  'identity',
  'createIdentity',
  'listRooms',
  'joinRoom',
  'leaveRoom',
  'retryRoom',
  'removeRoom',
  'setMuted',
  'sendMessage',
  'retryMessage',
  'discardMessage',
  'outbox',
  'roomState',
  'history',
  'notices',
  'eventLog',
  'knownKeys',
  'safetyNumber',
  'markVerified',
  'acceptKeyChange',
  'exportDebug',
  'defaultRelayUrl',
  'fileLimit',
  'sendFileStart',
  'sendFilePart',
  'sendFileCommit',
  'readFile',
  'exportAllDebug',
  'createInvite',
  'setAdmission',
  'answerKnock',
  'takeInvite',
  'getSettings',
  'updateSettings',
  'listRelays',
  'saveRelay',
  'removeRelay',
  'viewState',
] as const;

/** What the preload exposes on `window.conclave`, and what the browser bridge implements. */
export interface ConclaveBridge {
  call<M extends ApiMethod>(method: M, arg: ApiArg<M>): Promise<Reply<ApiResult<M>>>;
  subscribe(listener: (event: ClientEvent) => void): () => void;
}

/** The runtime side: implemented by src-main/client, called by IPC and the web bridge. */
export type ApiHandlers = {
  [M in ApiMethod]: (arg: ApiArg<M>) => Promise<ApiResult<M>>;
};
