// Wire format of every protocol message (docs/PROTOCOL.md "Encoding").
//
//   frame = version:u8 | type:u8 | sidLength:u8 | sid (0 or 32 bytes) | body (MessagePack) | sig:64
//
// The signature covers every byte before it, exactly as received. Untrusted bytes pass through
// distinct stages, each a distinct type: RawFrame -> ParsedFrame (header split, size checked)
// -> VerifiedFrame (signature checked by the caller who knows the key) -> typed body.
import { decode, encode } from '@msgpack/msgpack';
import * as v from 'valibot';
import type { Crypto } from './crypto';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_NICK_BYTES = 64;
export const MAX_TEXT_BYTES = 16 * 1024;
/** Largest file attachment a CHAT carries (a 60 KiB chunk sealed and framed; files.ts). */
export const MAX_ATTACHMENT_BYTES = 62 * 1024;
const SIG_BYTES = 64;
const SID_BYTES = 32;

export const MessageType = {
  JOIN_REQUEST: 1,
  PARTICIPANTS_INFO: 2,
  JOINER_AUTH: 3,
  GROUP_SHARE: 4,
  SESSION_CONFIRMATION: 5,
  CHAT: 6,
  LEAVE: 7,
  REKEY: 8,
  TIMEOUT: 9,
  REVEAL: 10,
  // Admission (docs/PROTOCOL.md "Admission policy").
  POLICY: 11,
  ADMIT: 12,
  DECLINE: 13,
  INVITE: 14,
  NOTICE: 15,
} as const;
export type MessageTypeName = keyof typeof MessageType;
export type MessageTypeCode = (typeof MessageType)[MessageTypeName];
const typeNames = new Map<number, MessageTypeName>(
  Object.entries(MessageType).map(([name, code]) => [code, name as MessageTypeName]),
);

/** Stable names of the decoding checks; they appear in drop reasons, logs and test names. */
export type DecodeFailure =
  | 'frame-too-large'
  | 'frame-too-short'
  | 'bad-version'
  | 'unknown-type'
  | 'bad-sid-length'
  | 'body-not-msgpack'
  | 'body-schema';

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E; detail?: string };

export interface ParsedFrame {
  readonly stage: 'parsed';
  readonly type: MessageTypeName;
  /** 32 bytes, or null for JOIN_REQUEST. */
  readonly sid: Uint8Array | null;
  readonly body: Uint8Array;
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
  readonly size: number;
}

export interface VerifiedFrame extends Omit<ParsedFrame, 'stage'> {
  readonly stage: 'verified';
}

export function parseFrame(bytes: Uint8Array): Result<ParsedFrame, DecodeFailure> {
  if (bytes.length > MAX_FRAME_BYTES) return { ok: false, error: 'frame-too-large' };
  if (bytes.length < 3 + SIG_BYTES) return { ok: false, error: 'frame-too-short' };
  if (bytes[0] !== PROTOCOL_VERSION) return { ok: false, error: 'bad-version' };
  const type = typeNames.get(bytes[1] as number);
  if (!type) return { ok: false, error: 'unknown-type' };
  const sidLength = bytes[2] as number;
  const wantSid = type !== 'JOIN_REQUEST';
  if (sidLength !== (wantSid ? SID_BYTES : 0)) return { ok: false, error: 'bad-sid-length' };
  const bodyStart = 3 + sidLength;
  const sigStart = bytes.length - SIG_BYTES;
  if (sigStart < bodyStart) return { ok: false, error: 'frame-too-short' };
  return {
    ok: true,
    value: {
      stage: 'parsed',
      type,
      sid: wantSid ? bytes.slice(3, bodyStart) : null,
      body: bytes.subarray(bodyStart, sigStart),
      signed: bytes.subarray(0, sigStart),
      signature: bytes.subarray(sigStart),
      size: bytes.length,
    },
  };
}

export function verifyFrame(
  crypto: Crypto,
  frame: ParsedFrame,
  publicKey: Uint8Array,
): VerifiedFrame | null {
  if (!crypto.verify(frame.signature, frame.signed, publicKey)) return null;
  return { ...frame, stage: 'verified' };
}

export function encodeFrame(
  crypto: Crypto,
  type: MessageTypeName,
  sid: Uint8Array | null,
  body: unknown,
  signingKey: Uint8Array,
): Uint8Array {
  const bodyBytes = encode(body);
  const sidLength = sid ? sid.length : 0;
  const signed = new Uint8Array(3 + sidLength + bodyBytes.length);
  signed[0] = PROTOCOL_VERSION;
  signed[1] = MessageType[type];
  signed[2] = sidLength;
  if (sid) signed.set(sid, 3);
  signed.set(bodyBytes, 3 + sidLength);
  const signature = crypto.sign(signed, signingKey);
  const frame = new Uint8Array(signed.length + SIG_BYTES);
  frame.set(signed, 0);
  frame.set(signature, signed.length);
  if (frame.length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${frame.length} bytes`);
  return frame;
}

// ---- body schemas ---------------------------------------------------------------------------

/** Any Uint8Array (valibot's `instance` would narrow it to an ArrayBuffer-backed one). */
export const anyBytes = v.custom<Uint8Array>((x) => x instanceof Uint8Array, 'expected bytes');
const bytesOf = (n: number) =>
  v.pipe(
    anyBytes,
    v.check((b) => b.length === n, `expected ${n} bytes`),
  );
const bytes32 = bytesOf(32);
const utf8 = new TextEncoder();
const nickSchema = v.pipe(
  v.string(),
  v.check((s) => s.length > 0 && utf8.encode(s).length <= MAX_NICK_BYTES, 'bad nick'),
);
const indexSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4095));
const tokenList = v.pipe(v.array(v.union([bytes32, v.null()])), v.maxLength(4096));

/** A room's admission policy (docs/PROTOCOL.md "Admission policy"). */
export const ADMISSION_POLICIES = ['open', 'knock', 'invite'] as const;
export type AdmissionPolicy = (typeof ADMISSION_POLICIES)[number];
const policySchema = v.picklist(ADMISSION_POLICIES);
const seqSchema = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0),
  v.maxValue(Number.MAX_SAFE_INTEGER),
);
/** Why a joiner's request was refused, as a NOTICE tells it (a code, never free text). */
export const REFUSAL_REASONS = [
  'invite-only',
  'invite-unknown',
  'invite-used',
  'invite-expired',
  'invite-bad-signature',
  'too-many-knocks',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const bodySchemas = {
  JOIN_REQUEST: v.strictObject({
    nick: nickSchema,
    lt: bytes32,
    eph: bytes32,
    /** An invite's proof: its public key and its signature over the request (admission). */
    invite: v.optional(v.strictObject({ key: bytes32, sig: bytesOf(64) })),
  }),
  PARTICIPANTS_INFO: v.strictObject({
    index: indexSchema,
    parent: bytes32,
    /** Join sessions: the member's token to the joiner. */
    kc: v.optional(bytes32),
    /** Batch sessions: the member's token to each joiner, by participant index (null elsewhere). */
    kcs: v.optional(tokenList),
    z: bytes32,
    /** Public room state for the joiner, sent by the session's sponsor only. */
    state: v.optional(anyBytes),
  }),
  JOINER_AUTH: v.strictObject({
    index: indexSchema,
    kcs: tokenList,
    z: bytes32,
  }),
  GROUP_SHARE: v.strictObject({ index: indexSchema, parent: bytes32, z: bytes32 }),
  SESSION_CONFIRMATION: v.strictObject({
    index: indexSchema,
    conf: bytes32,
    next: bytes32,
    /** Present only on the confirmation that founds a one-person room. */
    genesis: v.optional(v.strictObject({ nick: nickSchema, lt: bytes32, eph: bytes32 })),
    /** The founding admission policy, on a genesis only; absent means open (older rooms). */
    policy: v.optional(policySchema),
  }),
  CHAT: v.strictObject({
    index: indexSchema,
    number: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
    /** Text up to 16 KiB, or a file attachment (files.ts); the frame limit bounds both. */
    sealed: v.pipe(anyBytes, v.maxLength(MAX_FRAME_BYTES)),
  }),
  LEAVE: v.strictObject({ index: indexSchema }),
  REKEY: v.strictObject({ index: indexSchema }),
  TIMEOUT: v.strictObject({
    index: indexSchema,
    stalled: bytes32,
    accused: v.pipe(v.array(nickSchema), v.minLength(1), v.maxLength(4096)),
    /** Set when the accuser rejects a joiner's token: one member's veto drops the joiner. */
    veto: v.optional(v.literal(true)),
    /**
     * Set when a batch session stalled on the accused joiners: they leave the batch (and go by
     * one-joiner sessions) but stay pending; one member's word is enough (docs/PROTOCOL.md).
     */
    slow: v.optional(v.literal(true)),
  }),
  /**
   * A participant's ephemeral secret (its 32-byte seed) for a session under a blame round
   * (docs/PROTOCOL.md "Accountability"). A member of the current session signs it there with
   * its current ephemeral, names the failed session and announces a replacement next key; the
   * joiner signs it in the failed session with the revealed key itself.
   */
  REVEAL: v.strictObject({
    index: indexSchema,
    secret: bytesOf(32),
    session: v.optional(bytes32),
    next: v.optional(bytes32),
  }),
  /** A member sets the room's policy; `prev` is the seq of the policy it replaces (0: founding). */
  POLICY: v.strictObject({ index: indexSchema, policy: policySchema, prev: seqSchema }),
  /** A member lets a knock in: the knock's nick, LT key and the seq it was recorded at. */
  ADMIT: v.strictObject({ index: indexSchema, nick: nickSchema, lt: bytes32, knock: seqSchema }),
  DECLINE: v.strictObject({ index: indexSchema, nick: nickSchema, lt: bytes32, knock: seqSchema }),
  /** A member announces an invite's public key; `expires` is a relay time in ms. */
  INVITE: v.strictObject({ index: indexSchema, key: bytes32, expires: v.optional(seqSchema) }),
  /** The answering member tells a joiner what became of its request (it changes no state). */
  NOTICE: v.strictObject({
    index: indexSchema,
    nick: nickSchema,
    lt: bytes32,
    status: v.picklist(['knocking', 'refused']),
    reason: v.optional(v.picklist(REFUSAL_REASONS)),
  }),
} as const;

export type Body<T extends MessageTypeName> = v.InferOutput<(typeof bodySchemas)[T]>;

/** Inner plaintext of a CHAT, sealed under the message key. */
export const chatPlainSchema = v.strictObject({
  pseq: v.pipe(v.number(), v.integer(), v.minValue(0)),
  th: v.union([bytes32, v.null()]),
  text: v.pipe(
    v.string(),
    v.check((s) => utf8.encode(s).length <= MAX_TEXT_BYTES, 'text too long'),
  ),
  /** A file offer or chunk (files.ts), opaque to the engine. */
  att: v.optional(v.pipe(anyBytes, v.maxLength(MAX_ATTACHMENT_BYTES))),
});
export type ChatPlain = v.InferOutput<typeof chatPlainSchema>;

export function decodeMsgpack<S extends v.GenericSchema>(
  schema: S,
  bytes: Uint8Array,
): Result<v.InferOutput<S>, 'body-not-msgpack' | 'body-schema'> {
  let raw: unknown;
  try {
    raw = decode(bytes, { maxStrLength: MAX_FRAME_BYTES, maxBinLength: MAX_FRAME_BYTES });
  } catch {
    return { ok: false, error: 'body-not-msgpack' };
  }
  const parsed = v.safeParse(schema, raw);
  if (!parsed.success) {
    return { ok: false, error: 'body-schema', detail: parsed.issues[0]?.message ?? 'invalid' };
  }
  return { ok: true, value: parsed.output };
}

export function decodeBody<T extends MessageTypeName>(
  frame: VerifiedFrame | ParsedFrame,
  type: T,
): Result<Body<T>, 'body-not-msgpack' | 'body-schema'> {
  return decodeMsgpack(bodySchemas[type], frame.body) as Result<
    Body<T>,
    'body-not-msgpack' | 'body-schema'
  >;
}

export { encode as encodeMsgpack };
