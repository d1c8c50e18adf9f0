// Known-answer vectors for every derivation of docs/PROTOCOL.md section 3, computed from fixed
// seeds. `npm run vectors` wrote test/vectors/derivations.json once; the test recomputes them
// with every libsodium backend and compares byte for byte, so no derivation can drift.
import { Crypto, seededRandom } from '../protocol/crypto';
import {
  authToken,
  confirmation,
  deriveSid,
  fingerprint,
  messageKey,
  ringSecret,
  safetyNumber,
  sessionKey,
  transcriptNext,
  transcriptStart,
  tripleDh,
  xor,
} from '../protocol/derive';
import type { SodiumBackend } from '../protocol/sodium-backend';
import type { Nick, Participant } from '../protocol/types';
import { toHex } from '../protocol/types';

export function computeVectors(na: SodiumBackend): Record<string, string> {
  const crypto = new Crypto(seededRandom('vectors'), undefined, na);
  const alice = { nick: 'alice' as Nick, lt: crypto.signKeyPair(), eph: crypto.signKeyPair() };
  const bob = { nick: 'bob' as Nick, lt: crypto.signKeyPair(), eph: crypto.signKeyPair() };
  const carol = { nick: 'carol' as Nick, lt: crypto.signKeyPair(), eph: crypto.signKeyPair() };
  const pub = (p: typeof alice): Participant => ({
    nick: p.nick,
    lt: p.lt.publicKey,
    eph: p.eph.publicKey,
  });
  const parent = crypto.hash('parent');
  const participants = [pub(alice), pub(bob), pub(carol)];
  const sid = deriveSid(crypto, parent, participants);
  const kAB = tripleDh(crypto, alice, pub(bob));
  const kBA = tripleDh(crypto, bob, pub(alice));
  const kBC = tripleDh(crypto, bob, pub(carol));
  const kCA = tripleDh(crypto, carol, pub(alice));
  const s0 = ringSecret(crypto, kAB, sid);
  const s1 = ringSecret(crypto, kBC, sid);
  const s2 = ringSecret(crypto, kCA, sid);
  const shares = [xor(s0, s2), xor(s1, s0), xor(s2, s1)];
  const sk0 = sessionKey(crypto, sid, 0, s0, shares);
  const sk1 = sessionKey(crypto, sid, 1, s1, shares);
  const t0 = transcriptStart(crypto, sk0, sid);
  const aead = crypto.na.aeadEncrypt(
    new TextEncoder().encode('hello'),
    new Uint8Array([1, 6]),
    new Uint8Array(24).fill(9),
    messageKey(crypto, sk0, 1, 7),
  );
  return {
    hash: toHex(crypto.hash('label', new Uint8Array([1, 2, 3]), new Uint8Array(0))),
    aliceLt: toHex(alice.lt.publicKey),
    sid: toHex(sid),
    genesisSid: toHex(deriveSid(crypto, null, [pub(alice)])),
    tdhAliceBob: toHex(kAB),
    tdhBobAlice: toHex(kBA),
    authAliceToBob: toHex(authToken(crypto, kAB, sid, pub(bob))),
    ring0: toHex(s0),
    share1: toHex(shares[1] as Uint8Array),
    sessionKeyFrom0: toHex(sk0),
    sessionKeyFrom1: toHex(sk1),
    confirmAlice: toHex(confirmation(crypto, sk0, sid, pub(alice), t0)),
    messageKey: toHex(messageKey(crypto, sk0, 1, 7)),
    transcript0: toHex(t0),
    transcript1: toHex(transcriptNext(crypto, t0, 42, new Uint8Array([0, 0, 1]))),
    fingerprintAlice: fingerprint(crypto, alice.lt.publicKey),
    safetyNumber: safetyNumber(crypto, alice.lt.publicKey, bob.lt.publicKey),
    aead: toHex(aead),
  };
}
