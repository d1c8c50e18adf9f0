// The relay's wire contract (docs/RELAY.md): branded names, event and reply shapes, error codes,
// and the valibot schemas that every client request passes before the relay acts on it.
// Third-party clients rely on these names, so they change only together with docs/RELAY.md.
import * as v from 'valibot';

export type RoomId = string & { readonly __brand: 'RoomId' };
export type Nick = string & { readonly __brand: 'Nick' };
/** Per-room sequence number: 1, 2, 3, ... with no gaps. */
export type Seq = number & { readonly __brand: 'Seq' };
/** Opaque id of one (connection, room) attachment; the log uses it to tell a nick's holder apart. */
export type Owner = string & { readonly __brand: 'Owner' };

export type EventType = 'joined' | 'left' | 'message';

/** One entry of a room's ordered stream, exactly as the server emits it in `event`. */
export interface RoomEvent {
  readonly room: RoomId;
  readonly seq: Seq;
  readonly type: EventType;
  readonly nick: Nick;
  /** Present on `message` only. Opaque to the relay. */
  readonly data?: Uint8Array;
  /** Milliseconds since the Unix epoch, assigned by the log when the event was appended. */
  readonly at: number;
}

export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'NICK_TAKEN',
  'ROOM_FULL',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'NOT_IN_ROOM',
  'GAP_UNAVAILABLE',
  // Beyond the issue's minimum: a per-connection room cap, and a storage failure (retry later).
  'TOO_MANY_ROOMS',
  'UNAVAILABLE',
  // Counted in metrics only: a client that stopped reading is disconnected (it may resume).
  'SLOW_CONSUMER',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type JoinReply =
  | {
      readonly ok: true;
      readonly seq: Seq;
      readonly members: readonly Nick[];
      readonly resumeToken: string;
      readonly resumed: boolean;
    }
  | { readonly ok: false; readonly error: WireError };
export type SendReply = { readonly ok: true; readonly seq: Seq } | FailedReply;
export type LeaveReply = { readonly ok: true; readonly seq: Seq } | FailedReply;
export interface FailedReply {
  readonly ok: false;
  readonly error: WireError;
}

export function fail(code: ErrorCode, message: string): FailedReply {
  return { ok: false, error: { code, message } };
}

// Names are shown to people and used as Redis key parts: no control characters, bounded length.
const NAME = /^[^\p{Cc}]+$/u;
const roomSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(128), v.regex(NAME));
const nickSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64), v.regex(NAME));

export const joinSchema = v.object({
  room: roomSchema,
  nick: nickSchema,
  token: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  since: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  resumeToken: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))),
});
export const sendSchema = v.object({
  room: roomSchema,
  // Socket.IO hands binary attachments to the server as Buffer, a Uint8Array subclass.
  data: v.instance(Uint8Array),
});
export const leaveSchema = v.object({ room: roomSchema });

export type JoinRequest = v.InferOutput<typeof joinSchema>;
export type SendRequest = v.InferOutput<typeof sendSchema>;
export type LeaveRequest = v.InferOutput<typeof leaveSchema>;

/** Validates untrusted input; the issue path (if any) names the offending field in the reply. */
export function parse<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): { ok: true; value: v.InferOutput<S> } | FailedReply {
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
  return fail('BAD_REQUEST', path ? `${path}: ${issue?.message ?? 'invalid'}` : 'invalid payload');
}
