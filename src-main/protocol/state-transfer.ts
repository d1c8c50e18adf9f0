// The public room state a sponsor hands a joiner, so that the joiner can follow the room's
// decisions (which session wins) from the event that created its join session onwards.
// Everything in it is public: keys here are public keys, never secrets.
import * as v from 'valibot';
import {
  ADMISSION_POLICIES,
  anyBytes,
  decodeMsgpack,
  encodeMsgpack,
  MAX_NICK_BYTES,
} from './codec';

const bytes32 = v.pipe(
  anyBytes,
  v.check((b) => b.length === 32, 'expected 32 bytes'),
);
const nick = v.pipe(
  v.string(),
  v.check((s) => s.length > 0 && new TextEncoder().encode(s).length <= MAX_NICK_BYTES, 'bad nick'),
);
const participant = v.strictObject({ nick, lt: bytes32, eph: bytes32 });
const seqNumber = v.pipe(v.number(), v.integer(), v.minValue(0));

/** The room's admission state (docs/PROTOCOL.md "Admission policy"); absent: open, nothing waiting. */
const admissionSchema = v.strictObject({
  policy: v.picklist(ADMISSION_POLICIES),
  policySeq: seqNumber,
  knocks: v.pipe(
    v.array(v.strictObject({ nick, lt: bytes32, eph: bytes32, seq: seqNumber })),
    v.maxLength(32),
  ),
  invites: v.pipe(
    v.array(
      v.strictObject({
        key: bytes32,
        by: nick,
        seq: seqNumber,
        expires: v.nullable(seqNumber),
        usedBy: v.nullable(v.tuple([nick, bytes32])),
      }),
    ),
    v.maxLength(64),
  ),
  spent: v.pipe(v.array(bytes32), v.maxLength(128)),
});

export const publicStateSchema = v.strictObject({
  seq: v.pipe(v.number(), v.integer(), v.minValue(0)),
  current: v.strictObject({
    sid: bytes32,
    kind: v.picklist(['genesis', 'join', 'batch', 'leave', 'rekey']),
    parent: v.union([bytes32, v.null()]),
    participants: v.pipe(v.array(participant), v.minLength(1), v.maxLength(4096)),
    next: v.array(bytes32),
  }),
  /** The session current before `current`: a LEAVE signed in it may still be in flight. */
  previous: v.nullable(
    v.strictObject({
      sid: bytes32,
      kind: v.picklist(['genesis', 'join', 'batch', 'leave', 'rekey']),
      participants: v.pipe(v.array(participant), v.maxLength(4096)),
    }),
  ),
  pendingJoiners: v.array(v.strictObject({ nick, lt: bytes32, eph: bytes32, seq: v.number() })),
  pendingLeavers: v.array(nick),
  accusations: v.array(v.tuple([nick, v.array(nick)])),
  rekey: v.boolean(),
  /** Participants blamed in this room (nick, LT): their join requests are refused. */
  banned: v.optional(v.array(v.tuple([nick, bytes32]))),
  /** The joiners of the batch formed on `current` (docs/PROTOCOL.md "Batch admission"). */
  batch: v.optional(v.pipe(v.array(nick), v.maxLength(4096))),
  /** Pending joiners reported silent in a batch: they go by one-joiner sessions. */
  unbatchable: v.optional(v.pipe(v.array(nick), v.maxLength(4096))),
  /** Clients arriving (rule B1a): joined the relay room, no request yet; relay time of joining. */
  arriving: v.optional(v.pipe(v.array(v.tuple([nick, v.number()])), v.maxLength(256))),
  /** The batch formed by rule B1a still takes requests (no member has spoken since). */
  batchOpen: v.optional(v.boolean()),
  admission: v.optional(admissionSchema),
  limbo: v.array(
    v.strictObject({
      sid: bytes32,
      confirmed: v.array(v.tuple([v.number(), bytes32])),
      /** Every share that arrived, with its public value z (a blame round needs them). */
      shares: v.array(v.tuple([v.number(), bytes32])),
      /** The joiner's tokens, once its JOINER_AUTH arrived (a veto is judged on them). */
      kcs: v.optional(v.array(v.nullable(bytes32))),
      /** The members' tokens to the joiner that arrived (a joiner's complaint is judged on them). */
      mkcs: v.optional(v.array(v.tuple([v.number(), bytes32]))),
      /** Batch sessions: each joiner's tokens (JOINER_AUTH), by joiner index. */
      bkcs: v.optional(v.array(v.tuple([v.number(), v.array(v.nullable(bytes32))]))),
      /** Batch sessions: each member's tokens to the joiners, by member index. */
      bmkcs: v.optional(v.array(v.tuple([v.number(), v.array(v.nullable(bytes32))]))),
      createdSeq: v.number(),
    }),
  ),
});

export type PublicState = v.InferOutput<typeof publicStateSchema>;

export function encodePublicState(state: PublicState): Uint8Array {
  return encodeMsgpack(state);
}

export function decodePublicState(bytes: Uint8Array) {
  return decodeMsgpack(publicStateSchema, bytes);
}
