// The Crypto facade's own shortcuts must never accept anything a full verification would refuse.
import { beforeAll, describe, expect, it } from 'vitest';
import { Crypto, cryptoReady, seededRandom } from '../../src-main/protocol/crypto';

beforeAll(async () => {
  await cryptoReady();
});

describe('Crypto.verify of frames this instance signed', () => {
  it('skips the second verification only for the exact bytes and key it signed', () => {
    const crypto = new Crypto(seededRandom('own-signatures'));
    const other = new Crypto(seededRandom('someone-else'));
    const mine = crypto.signKeyPair();
    const theirs = other.signKeyPair();
    const message = new TextEncoder().encode('PARTICIPANTS_INFO for session 7');
    const signature = crypto.sign(message, mine.secretKey);

    // The relay reflects our own frame: recognised, no libsodium call.
    expect(crypto.verify(signature, message, mine.publicKey)).toBe(true);
    expect(crypto.counters).toMatchObject({ verify: 0, ownVerifySkipped: 1 });

    // Same signature with other bytes, or under another key: a real verification, which fails.
    const altered = message.slice();
    altered[0] = (altered[0] ?? 0) ^ 1;
    expect(crypto.verify(signature, altered, mine.publicKey)).toBe(false);
    expect(crypto.verify(signature, message, theirs.publicKey)).toBe(false);
    expect(crypto.counters).toMatchObject({ verify: 2, ownVerifySkipped: 1 });

    // Another instance has no memory of it and verifies for real (and accepts).
    expect(other.verify(signature, message, mine.publicKey)).toBe(true);
    expect(other.counters).toMatchObject({ verify: 1, ownVerifySkipped: 0 });

    // The remembered message is a copy: changing the caller's buffer afterwards changes nothing.
    const buffer = new TextEncoder().encode('CHAT 1');
    const sig2 = crypto.sign(buffer, mine.secretKey);
    const original = buffer.slice();
    buffer[0] = 0;
    expect(crypto.verify(sig2, buffer, mine.publicKey)).toBe(false);
    expect(crypto.verify(sig2, original, mine.publicKey)).toBe(true);
  });

  it('remembers a bounded number of its own signatures', () => {
    const crypto = new Crypto(seededRandom('bounded'));
    const keys = crypto.signKeyPair();
    const first = new Uint8Array([1, 2, 3]);
    const firstSig = crypto.sign(first, keys.secretKey);
    for (let i = 0; i < 300; i++) crypto.sign(new Uint8Array([i & 255, i >> 8]), keys.secretKey);
    // Forgotten: verified for real, still correct.
    expect(crypto.verify(firstSig, first, keys.publicKey)).toBe(true);
    expect(crypto.counters).toMatchObject({ verify: 1, ownVerifySkipped: 0 });
  });
});
