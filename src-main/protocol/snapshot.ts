// Serialising a room engine, secrets included, so a client killed at any instant resumes where
// its last committed event left it. The bytes are secret: the store encrypts them at rest.
import * as v from 'valibot';
import { anyBytes, decodeMsgpack, encodeMsgpack } from './codec';
import type { SessionKind } from './events';
import { Session } from './session';
import type { Nick, Participant, Seq, SignKeyPair, Sid } from './types';
import { asSeq, asSid } from './types';

export const SNAPSHOT_VERSION = 1;

const keyPair = v.object({ publicKey: anyBytes, secretKey: anyBytes });
const participant = v.object({ nick: v.string(), lt: anyBytes, eph: anyBytes });

const sessionSchema = v.object({
  sid: v.string(),
  sidBytes: anyBytes,
  parent: v.nullable(v.string()),
  kind: v.picklist(['genesis', 'join', 'batch', 'leave', 'rekey']),
  participants: v.array(participant),
  joiner: v.nullable(v.string()),
  createdSeq: v.number(),
  createdAt: v.number(),
  status: v.picklist(['current', 'in-limbo', 'dead']),
  history: v.array(
    v.object({
      status: v.picklist(['current', 'in-limbo', 'dead']),
      reason: v.string(),
      seq: v.number(),
      at: v.number(),
    }),
  ),
  shares: v.array(v.nullable(anyBytes)),
  confirmed: v.array(v.nullable(anyBytes)),
  vetoes: v.array(v.string()),
  deferred: v.boolean(),
  parentTranscript: v.nullable(anyBytes),
  joinerKcs: v.nullable(v.array(v.nullable(anyBytes))),
  memberKcs: v.optional(v.array(v.nullable(anyBytes))),
  // Added with batch admission; absent in older snapshots, which still load.
  joiners: v.optional(v.array(v.string())),
  batchKcs: v.optional(v.array(v.tuple([v.number(), v.array(v.nullable(anyBytes))]))),
  batchMkcs: v.optional(v.array(v.tuple([v.number(), v.array(v.nullable(anyBytes))]))),
  stalled: v.optional(v.boolean()),
  heldForBatch: v.optional(v.boolean()),
  own: v.nullable(
    v.object({
      index: v.number(),
      eph: keyPair,
      ringSecret: anyBytes,
      pairKeys: v.array(v.tuple([v.number(), anyBytes])),
      tokensOk: v.array(v.number()),
      parentTranscript: anyBytes,
      sk: v.nullable(anyBytes),
      next: v.nullable(keyPair),
      chain: v.array(v.object({ seq: v.number(), hash: anyBytes })),
      sendCounter: v.number(),
      seenChat: v.array(v.tuple([v.string(), v.number()])),
      replayFloor: v.number(),
      mismatched: v.array(v.string()),
      inconsistent: v.boolean(),
    }),
  ),
});

export type SessionSnapshot = v.InferOutput<typeof sessionSchema>;

const orderedEvent = v.object({
  kind: v.picklist(['joined', 'left', 'message']),
  seq: v.number(),
  nick: v.string(),
  at: v.number(),
  data: v.optional(anyBytes),
});

export const engineSnapshotSchema = v.object({
  version: v.literal(SNAPSHOT_VERSION),
  nick: v.string(),
  mode: v.picklist(['idle', 'detached', 'attached', 'gone']),
  sessions: v.array(sessionSchema),
  current: v.nullable(v.string()),
  draining: v.nullable(v.string()),
  previousCurrent: v.nullable(v.string()),
  pendingJoiners: v.array(
    v.object({ nick: v.string(), lt: anyBytes, eph: anyBytes, seq: v.number() }),
  ),
  pendingLeavers: v.array(v.string()),
  accusations: v.array(v.tuple([v.string(), v.array(v.string())])),
  rekeyRequested: v.boolean(),
  presence: v.array(v.string()),
  lastSeq: v.number(),
  joinAttempts: v.array(keyPair),
  joinRetries: v.number(),
  sawConversation: v.boolean(),
  buffer: v.array(orderedEvent),
  phase: v.string(),
  genesisKeys: v.array(
    v.tuple([v.string(), v.object({ eph: keyPair, sk: anyBytes, next: keyPair })]),
  ),
  // Added with accountability (docs/PROTOCOL.md); absent in older snapshots, which still load.
  history: v.optional(anyBytes),
  held: v.optional(v.array(v.object({ text: v.string(), id: v.optional(v.string()) }))),
  burned: v.optional(v.array(v.string())),
  banned: v.optional(v.array(v.object({ nick: v.string(), lt: anyBytes }))),
  batchJoiners: v.optional(v.nullable(v.array(v.string()))),
  unbatchable: v.optional(v.array(v.string())),
  // Added with rule B1a (docs/PROTOCOL.md "Batch admission"): clients arriving, relay time.
  arriving: v.optional(v.array(v.tuple([v.string(), v.number()]))),
  batchOpen: v.optional(v.boolean()),
  // Added with the admission policy (docs/PROTOCOL.md "Admission policy").
  admission: v.optional(
    v.object({
      policy: v.picklist(['open', 'knock', 'invite']),
      policySeq: v.number(),
      founded: v.boolean(),
      knocks: v.array(v.object({ nick: v.string(), lt: anyBytes, eph: anyBytes, seq: v.number() })),
      invites: v.array(
        v.object({
          key: anyBytes,
          by: v.string(),
          seq: v.number(),
          expires: v.nullable(v.number()),
          usedBy: v.nullable(v.object({ nick: v.string(), lt: anyBytes })),
        }),
      ),
      spent: v.array(anyBytes),
    }),
  ),
  blame: v.optional(
    v.object({
      sid: v.string(),
      sidBytes: anyBytes,
      cause: v.picklist(['inconsistent-shares', 'veto', 'complaint']),
      participants: v.array(participant),
      joiner: v.nullable(v.string()),
      joiners: v.optional(v.array(v.string())),
      shares: v.array(anyBytes),
      joinerKcs: v.nullable(v.array(v.nullable(anyBytes))),
      memberKcs: v.optional(v.array(v.nullable(anyBytes))),
      vetoer: v.nullable(v.string()),
      accused: v.optional(v.nullable(v.string())),
      need: v.array(v.string()),
      revealed: v.array(v.tuple([v.string(), anyBytes])),
      openedSeq: v.number(),
    }),
  ),
});

export type EngineSnapshot = v.InferOutput<typeof engineSnapshotSchema>;

export function sessionToSnapshot(s: Session): SessionSnapshot {
  const own = s.own;
  return {
    sid: s.sid,
    sidBytes: s.sidBytes,
    parent: s.parent,
    kind: s.kind,
    participants: s.participants.map((p) => ({ nick: p.nick, lt: p.lt, eph: p.eph })),
    joiner: s.joiner,
    createdSeq: s.createdSeq,
    createdAt: s.createdAt,
    status: s.status,
    history: s.history.map((h) => ({ ...h })),
    shares: [...s.shares],
    confirmed: [...s.confirmed],
    vetoes: [...s.vetoes],
    deferred: s.deferred,
    parentTranscript: s.parentTranscript,
    joinerKcs: s.joinerKcs ? [...s.joinerKcs] : null,
    memberKcs: [...s.memberKcs],
    ...(s.kind === 'batch'
      ? {
          joiners: [...s.joiners],
          batchKcs: [...s.batchKcs].map(([i, k]) => [i, [...k]] as [number, (Uint8Array | null)[]]),
          batchMkcs: [...s.batchMkcs].map(
            ([i, k]) => [i, [...k]] as [number, (Uint8Array | null)[]],
          ),
          stalled: s.stalled,
        }
      : {}),
    ...(s.heldForBatch ? { heldForBatch: true } : {}),
    own: own && {
      index: own.index,
      eph: own.eph,
      ringSecret: own.ringSecret,
      pairKeys: [...own.pairKeys],
      tokensOk: [...own.tokensOk],
      parentTranscript: own.parentTranscript,
      sk: own.sk,
      next: own.next,
      chain: own.chain,
      sendCounter: own.sendCounter,
      seenChat: [...own.seenChat],
      replayFloor: own.replayFloor,
      mismatched: [...own.mismatched],
      inconsistent: own.inconsistent,
    },
  };
}

export function sessionFromSnapshot(x: SessionSnapshot): Session {
  const participants: Participant[] = x.participants.map((p) => ({ ...p, nick: p.nick as Nick }));
  const s = new Session(
    asSid(x.sid),
    x.sidBytes,
    x.parent === null ? null : asSid(x.parent),
    x.kind as SessionKind,
    participants,
    x.joiner as Nick | null,
    asSeq(x.createdSeq),
    x.createdAt,
    (x.joiners ?? []) as Nick[],
  );
  s.status = x.status;
  for (const [i, k] of x.batchKcs ?? []) s.batchKcs.set(i, k);
  for (const [i, k] of x.batchMkcs ?? []) s.batchMkcs.set(i, k);
  s.stalled = x.stalled ?? false;
  s.heldForBatch = x.heldForBatch ?? false;
  s.history.push(...x.history.map((h) => ({ ...h, seq: asSeq(h.seq) })));
  x.shares.forEach((z, i) => (s.shares[i] = z));
  x.confirmed.forEach((c, i) => (s.confirmed[i] = c));
  for (const n of x.vetoes) s.vetoes.add(n as Nick);
  s.deferred = x.deferred;
  s.parentTranscript = x.parentTranscript;
  s.joinerKcs = x.joinerKcs;
  (x.memberKcs ?? []).forEach((k, i) => {
    if (i < s.memberKcs.length) s.memberKcs[i] = k;
  });
  if (x.own) {
    const o = x.own;
    s.own = {
      index: o.index,
      eph: o.eph as SignKeyPair,
      ringSecret: o.ringSecret,
      pairKeys: new Map(o.pairKeys),
      tokensOk: new Set(o.tokensOk),
      parentTranscript: o.parentTranscript,
      sk: o.sk,
      next: o.next as SignKeyPair | null,
      chain: o.chain,
      sendCounter: o.sendCounter,
      seenChat: new Map(o.seenChat),
      replayFloor: o.replayFloor,
      mismatched: new Set(o.mismatched as Nick[]),
      inconsistent: o.inconsistent,
    };
  }
  return s;
}

export function encodeSnapshot(snapshot: EngineSnapshot): Uint8Array {
  return encodeMsgpack(snapshot, { ignoreUndefined: true });
}

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export function decodeSnapshot(bytes: Uint8Array): EngineSnapshot {
  const decoded = decodeMsgpack(engineSnapshotSchema, bytes);
  if (!decoded.ok) {
    throw new SnapshotError(`engine snapshot unreadable: ${decoded.error} ${decoded.detail ?? ''}`);
  }
  return decoded.value;
}

export type { Seq, Sid };
