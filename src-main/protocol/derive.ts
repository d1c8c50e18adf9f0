// Every key-schedule derivation of docs/PROTOCOL.md section 3, in one place. Each is
// domain-separated by its label and hashes length-prefixed fields (Crypto.hash).
import type { Crypto } from './crypto';
import type { Nick, Participant, SignKeyPair } from './types';
import { compareBytes } from './types';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// U is hashed for every participant of every session a client derives; the key arrays are shared
// between sessions, so remember U per (key array, nick) without keeping the arrays alive.
const uCache = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

/** `U = (nick, LT)` as one field: its own length-prefixed encoding. */
export function encodeU(crypto: Crypto, nick: Nick, lt: Uint8Array): Uint8Array {
  let byNick = uCache.get(lt);
  if (!byNick) {
    byNick = new Map();
    uCache.set(lt, byNick);
  }
  let u = byNick.get(nick);
  if (!u) {
    u = crypto.hash('U', encoder.encode(nick), lt);
    byNick.set(nick, u);
  }
  return u;
}

/**
 * `sorted` (in participant order, holding no one of `p`'s nick) with `p` inserted in its place:
 * the same list as sortParticipants([...sorted, p]), without encoding every nick again.
 */
export function withParticipant(sorted: readonly Participant[], p: Participant): Participant[] {
  const key = encoder.encode(p.nick);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(encoder.encode((sorted[mid] as Participant).nick), key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return [...sorted.slice(0, lo), p, ...sorted.slice(lo)];
}

/** Participant order: sorted by nick, bytewise on UTF-8. */
export function sortParticipants<T extends { nick: Nick }>(list: readonly T[]): T[] {
  return list
    .map((p) => ({ p, key: encoder.encode(p.nick) }))
    .sort((a, b) => compareBytes(a.key, b.key))
    .map((x) => x.p);
}

export function deriveSid(
  crypto: Crypto,
  parentSid: Uint8Array | null,
  participants: readonly Participant[],
): Uint8Array {
  const fields: Uint8Array[] = [parentSid ?? EMPTY];
  for (const p of participants) fields.push(encodeU(crypto, p.nick, p.lt), p.eph);
  return crypto.hash('sid', ...fields);
}

export interface OwnKeys {
  readonly nick: Nick;
  readonly lt: SignKeyPair;
  readonly eph: SignKeyPair;
}

/**
 * Triple DH between us and `peer`. `F` is the side whose (LT public key, nick) sorts first.
 * k = H("tdh", DH(LT_F, E_S), DH(E_F, LT_S), DH(E_F, E_S), U_F, U_S).
 */
export function tripleDh(crypto: Crypto, own: OwnKeys, peer: Participant): Uint8Array {
  const ownU = encodeU(crypto, own.nick, own.lt.publicKey);
  const peerU = encodeU(crypto, peer.nick, peer.lt);
  let order = compareBytes(own.lt.publicKey, peer.lt);
  if (order === 0) order = compareBytes(encoder.encode(own.nick), encoder.encode(peer.nick));
  const weAreFirst = order <= 0;
  const ltF_eS = weAreFirst
    ? crypto.dh(own.lt.secretKey, peer.eph)
    : crypto.dh(own.eph.secretKey, peer.lt);
  const eF_ltS = weAreFirst
    ? crypto.dh(own.eph.secretKey, peer.lt)
    : crypto.dh(own.lt.secretKey, peer.eph);
  const eF_eS = crypto.dh(own.eph.secretKey, peer.eph);
  const [uF, uS] = weAreFirst ? [ownU, peerU] : [peerU, ownU];
  const k = crypto.hash('tdh', ltF_eS, eF_ltS, eF_eS, uF, uS);
  crypto.wipe(ltF_eS);
  crypto.wipe(eF_ltS);
  crypto.wipe(eF_eS);
  return k;
}

/**
 * The same k as `tripleDh`, computed by a third party from both sides' revealed ephemeral
 * secret keys and their public LT keys (the blame round, docs/PROTOCOL.md "Accountability"):
 * every term has one revealed ephemeral in it, so no long-term secret is needed.
 */
export function tripleDhFromEphemerals(
  crypto: Crypto,
  a: { nick: Nick; lt: Uint8Array; eph: SignKeyPair },
  b: { nick: Nick; lt: Uint8Array; eph: SignKeyPair },
): Uint8Array {
  let order = compareBytes(a.lt, b.lt);
  if (order === 0) order = compareBytes(encoder.encode(a.nick), encoder.encode(b.nick));
  const [f, s] = order <= 0 ? [a, b] : [b, a];
  const ltF_eS = crypto.dh(s.eph.secretKey, f.lt);
  const eF_ltS = crypto.dh(f.eph.secretKey, s.lt);
  const eF_eS = crypto.dh(f.eph.secretKey, s.eph.publicKey);
  const k = crypto.hash(
    'tdh',
    ltF_eS,
    eF_ltS,
    eF_eS,
    encodeU(crypto, f.nick, f.lt),
    encodeU(crypto, s.nick, s.lt),
  );
  crypto.wipe(ltF_eS);
  crypto.wipe(eF_ltS);
  crypto.wipe(eF_eS);
  return k;
}

/** kc_ij = H("auth", k_ij, sid, U_j): i's token addressed to j. */
export function authToken(
  crypto: Crypto,
  k: Uint8Array,
  sid: Uint8Array,
  to: { nick: Nick; lt: Uint8Array },
): Uint8Array {
  return crypto.hash('auth', k, sid, encodeU(crypto, to.nick, to.lt));
}

/** s_i = H("ring", k_{i,i+1}, sid). */
export function ringSecret(crypto: Crypto, k: Uint8Array, sid: Uint8Array): Uint8Array {
  return crypto.hash('ring', k, sid);
}

export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/**
 * Walk the ring from our own s_i using everyone's shares z_j = s_j XOR s_{j-1}, then
 * sk = H("key", sid, s_0, ..., s_{n-1}).
 */
export function sessionKey(
  crypto: Crypto,
  sid: Uint8Array,
  ownIndex: number,
  ownSecret: Uint8Array,
  shares: readonly Uint8Array[],
): Uint8Array {
  const n = shares.length;
  const secrets: Uint8Array[] = new Array<Uint8Array>(n);
  secrets[ownIndex] = ownSecret;
  let s = ownSecret;
  for (let step = 1; step < n; step++) {
    const j = (ownIndex + step) % n;
    s = xor(s, shares[j] as Uint8Array);
    secrets[j] = s;
  }
  return crypto.hash('key', sid, ...secrets);
}

/** conf_i = H("confirm", sk, sid, U_i, parent_transcript). */
export function confirmation(
  crypto: Crypto,
  sk: Uint8Array,
  sid: Uint8Array,
  who: { nick: Nick; lt: Uint8Array },
  parentTranscript: Uint8Array,
): Uint8Array {
  return crypto.hash('confirm', sk, sid, encodeU(crypto, who.nick, who.lt), parentTranscript);
}

/**
 * What a confirmation binds of the parent session (docs/PROTOCOL.md "Accountability", rule 4):
 * the CHAT transcript head and the hash chain over every ordered event since the parent became
 * current, both as of the event that created the child.
 */
export function boundHistory(
  crypto: Crypto,
  chatTranscript: Uint8Array,
  history: Uint8Array,
): Uint8Array {
  return crypto.hash('bound-history', chatTranscript, history);
}

/** The room-history chain starts again when a session becomes current. */
export function historyStart(crypto: Crypto, sid: Uint8Array): Uint8Array {
  return crypto.hash('history-start', sid);
}

/** One ordered event appended to the history chain: seq, kind, sender and the exact bytes. */
export function historyNext(
  crypto: Crypto,
  previous: Uint8Array,
  seq: number,
  kind: string,
  nick: string,
  bytes: Uint8Array,
): Uint8Array {
  return crypto.hash(
    'history',
    previous,
    u64(seq),
    encoder.encode(kind),
    encoder.encode(nick),
    bytes,
  );
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

/** Per-sender, per-number message key; the session key itself never encrypts. */
export function messageKey(
  crypto: Crypto,
  sk: Uint8Array,
  sender: number,
  number: number,
): Uint8Array {
  return crypto.hash('message-key', sk, u32(sender), u64(number));
}

export function transcriptStart(crypto: Crypto, sk: Uint8Array, sid: Uint8Array): Uint8Array {
  return crypto.hash('transcript', sk, sid);
}

export function transcriptNext(
  crypto: Crypto,
  previous: Uint8Array,
  seq: number,
  bytes: Uint8Array,
): Uint8Array {
  return crypto.hash('transcript', previous, u64(seq), bytes);
}

/**
 * Fingerprint of a long-term public key: 30 digits in 6 groups of 5, from BLAKE2b-256 over a
 * fixed label. Stable across releases: changing it is a protocol version change.
 */
export function fingerprint(crypto: Crypto, ltPublic: Uint8Array): string {
  const digest = crypto.hash('fingerprint-v1', ltPublic);
  const groups: string[] = [];
  for (let g = 0; g < 6; g++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + (digest[g * 5 + i] as number);
    groups.push(String(value % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}

/** Safety number for two users: both fingerprints in a canonical order. */
export function safetyNumber(crypto: Crypto, a: Uint8Array, b: Uint8Array): string {
  const [x, y] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  return `${fingerprint(crypto, x)} ${fingerprint(crypto, y)}`;
}

/**
 * What an invite key signs for one join request (docs/PROTOCOL.md "Admission policy"): the
 * invite's own public key, the joiner's identity and its join ephemeral, so a proof seen on the
 * wire admits that request and no other identity.
 */
export function inviteUse(
  crypto: Crypto,
  inviteKey: Uint8Array,
  nick: string,
  lt: Uint8Array,
  eph: Uint8Array,
): Uint8Array {
  return crypto.hash('invite-use', inviteKey, encodeU(crypto, nick as Nick, lt), eph);
}
