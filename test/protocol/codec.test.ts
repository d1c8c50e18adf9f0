import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Body, MessageTypeName } from '../../src-main/protocol/codec';
import {
  decodeBody,
  encodeFrame,
  MAX_FRAME_BYTES,
  MessageType,
  parseFrame,
  verifyFrame,
} from '../../src-main/protocol/codec';
import { Crypto, cryptoReady, seededRandom } from '../../src-main/protocol/crypto';
import { assertConverged, SimRelay } from '../../src-main/sim/relay';

let crypto: Crypto;
beforeAll(async () => {
  await cryptoReady();
  crypto = new Crypto(seededRandom('codec'));
});

const b32 = (fill: number) => new Uint8Array(32).fill(fill);
const samples: { [T in MessageTypeName]: Body<T> } = {
  JOIN_REQUEST: { nick: 'dave', lt: b32(1), eph: b32(2) },
  PARTICIPANTS_INFO: {
    index: 2,
    parent: b32(3),
    kc: b32(4),
    z: b32(5),
    state: new Uint8Array([1, 2]),
  },
  JOINER_AUTH: { index: 0, kcs: [null, b32(6), b32(7)], z: b32(8) },
  GROUP_SHARE: { index: 1, parent: b32(9), z: b32(10) },
  SESSION_CONFIRMATION: { index: 1, conf: b32(11), next: b32(12) },
  CHAT: { index: 3, number: 42, sealed: new Uint8Array(80).fill(13) },
  LEAVE: { index: 4 },
  REKEY: { index: 0 },
  TIMEOUT: { index: 1, stalled: b32(14), accused: ['erin', 'frank'], veto: true },
  REVEAL: { index: 2, secret: b32(15), session: b32(16), next: b32(17) },
  POLICY: { index: 0, policy: 'invite', prev: 7 },
  ADMIT: { index: 1, nick: 'dave', lt: b32(18), knock: 12 },
  DECLINE: { index: 1, nick: 'dave', lt: b32(18), knock: 12 },
  INVITE: { index: 2, key: b32(19), expires: 1_900_000_000_000 },
  NOTICE: { index: 0, nick: 'dave', lt: b32(18), status: 'refused', reason: 'invite-used' },
};

describe('codec', () => {
  for (const type of Object.keys(samples) as MessageTypeName[]) {
    it(`round-trips ${type} with a signature over the exact bytes`, () => {
      const key = crypto.signKeyPair();
      const sid = type === 'JOIN_REQUEST' ? null : b32(99);
      const bytes = encodeFrame(crypto, type, sid, samples[type], key.secretKey);
      const parsed = parseFrame(bytes);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.value.type).toBe(type);
      const verified = verifyFrame(crypto, parsed.value, key.publicKey);
      expect(verified).not.toBeNull();
      const body = decodeBody(verified!, type);
      expect(body).toEqual({ ok: true, value: samples[type] });
      // One flipped bit anywhere fails the signature.
      const flipped = new Uint8Array(bytes);
      flipped[5] = (flipped[5] as number) ^ 1;
      const reparsed = parseFrame(flipped);
      if (reparsed.ok) expect(verifyFrame(crypto, reparsed.value, key.publicKey)).toBeNull();
    });
  }

  it('refuses oversized frames before parsing them', () => {
    expect(parseFrame(new Uint8Array(MAX_FRAME_BYTES + 1))).toEqual({
      ok: false,
      error: 'frame-too-large',
    });
  });

  it('names each structural failure', () => {
    const key = crypto.signKeyPair();
    const good = encodeFrame(crypto, 'LEAVE', b32(1), { index: 0 }, key.secretKey);
    const variant = (i: number, v: number) => {
      const copy = new Uint8Array(good);
      copy[i] = v;
      return copy;
    };
    expect(parseFrame(new Uint8Array(10))).toMatchObject({ error: 'frame-too-short' });
    expect(parseFrame(variant(0, 9))).toMatchObject({ error: 'bad-version' });
    expect(parseFrame(variant(1, 200))).toMatchObject({ error: 'unknown-type' });
    expect(parseFrame(variant(2, 31))).toMatchObject({ error: 'bad-sid-length' });
  });

  it('rejects bodies that do not match the strict schema', () => {
    const key = crypto.signKeyPair();
    const extra = encodeFrame(crypto, 'LEAVE', b32(1), { index: 0, extra: 1 }, key.secretKey);
    const wrong = encodeFrame(
      crypto,
      'GROUP_SHARE',
      b32(1),
      { index: 0, parent: b32(1), z: new Uint8Array(31) },
      key.secretKey,
    );
    const p1 = parseFrame(extra);
    const p2 = parseFrame(wrong);
    if (!p1.ok || !p2.ok) throw new Error('parse failed');
    expect(decodeBody(p1.value, 'LEAVE')).toMatchObject({ ok: false, error: 'body-schema' });
    expect(decodeBody(p2.value, 'GROUP_SHARE')).toMatchObject({ ok: false, error: 'body-schema' });
  });

  it('fuzz: 10,000 random and mutated frames never throw out of the decoder', () => {
    const key = crypto.signKeyPair();
    const valid = (Object.keys(samples) as MessageTypeName[]).map((t) =>
      encodeFrame(crypto, t, t === 'JOIN_REQUEST' ? null : b32(7), samples[t], key.secretKey),
    );
    const mutated = fc
      .tuple(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 8 }),
        fc.nat({ max: 40 }),
      )
      .map(([frame, edits, cut]) => {
        const copy = new Uint8Array(frame);
        for (const [pos, value] of edits) copy[pos % copy.length] = value;
        return copy.subarray(0, Math.max(0, copy.length - cut));
      });
    const random = fc.uint8Array({ maxLength: 400 }).map((b) => {
      if (b.length > 2) {
        b[0] = 1;
        b[1] = 1 + ((b[1] as number) % 9);
      }
      return b;
    });
    let decoded = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, random), (bytes) => {
        const parsed = parseFrame(bytes);
        if (!parsed.ok) return;
        for (const type of Object.keys(MessageType) as MessageTypeName[]) {
          const body = decodeBody(parsed.value, type);
          if (body.ok) decoded++;
        }
      }),
      { numRuns: 10_000, seed: 42 },
    );
    expect(decoded).toBeGreaterThan(0);
  });

  it('fuzz: hostile frames fed to live engines change no state and crash nothing', () => {
    const relay = new SimRelay('engine-fuzz');
    for (const n of ['alice', 'bob', 'carol']) {
      relay.join(n);
      relay.settle(20_000);
    }
    const before = assertConverged(relay, ['alice', 'bob', 'carol']);
    const alice = relay.client('alice');
    const statuses = () =>
      [...alice.engine.sessions.values()].map((s) => `${s.sid}:${s.status}`).join();
    const snapshot = statuses();
    const frames = relay.log.flatMap((e) => (e.kind === 'message' ? [e.data] : []));
    fc.assert(
      fc.property(
        fc.constantFrom(...frames),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('alice', 'bob', 'carol', 'mallory'),
        (frame, edits, sender) => {
          const copy = new Uint8Array(frame);
          for (const [pos, value] of edits) copy[pos % copy.length] = value;
          relay.inject(sender, copy);
          relay.drain();
        },
      ),
      { numRuns: 1_000, seed: 7 },
    );
    expect(assertConverged(relay, ['alice', 'bob', 'carol'])).toBe(before);
    expect(statuses()).toBe(snapshot);
  });
});
