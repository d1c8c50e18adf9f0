// The engine's only window onto cryptography. Everything goes through libsodium; randomness is
// injected so that tests and the simulator are reproducible and the engine itself stays pure.
import sodium from 'libsodium-wrappers-sumo';
import type { SignKeyPair } from './types';
import { toHex } from './types';

export type Random = (length: number) => Uint8Array;

export class CryptoError extends Error {
  constructor(
    readonly code: 'low-order-point' | 'bad-key' | 'decrypt-failed',
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}

let ready: Promise<void> | undefined;
/** libsodium's WebAssembly must be initialised once before any `Crypto` is built. */
export function cryptoReady(): Promise<void> {
  ready ??= sodium.ready;
  return ready;
}

const encoder = new TextEncoder();

/** Counters make the cost of a design visible in tests and benchmarks. */
export interface CryptoCounters {
  sign: number;
  verify: number;
  scalarmult: number;
  conversions: number;
}

export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;

export class Crypto {
  readonly counters: CryptoCounters = { sign: 0, verify: 0, scalarmult: 0, conversions: 0 };
  private readonly pkCurveCache = new Map<string, Uint8Array>();
  private readonly skCurveCache = new Map<string, Uint8Array>();

  constructor(readonly random: Random) {}

  /** `H(label, x1, x2, ...)`: BLAKE2b-256 over a label and length-prefixed fields. */
  hash(label: string, ...fields: Uint8Array[]): Uint8Array {
    const state = sodium.crypto_generichash_init(null, 32);
    const lengths = new Uint8Array(4);
    const view = new DataView(lengths.buffer);
    const labelBytes = encoder.encode(label);
    view.setUint32(0, labelBytes.length);
    sodium.crypto_generichash_update(state, lengths);
    sodium.crypto_generichash_update(state, labelBytes);
    for (const field of fields) {
      view.setUint32(0, field.length);
      sodium.crypto_generichash_update(state, lengths);
      sodium.crypto_generichash_update(state, field);
    }
    return sodium.crypto_generichash_final(state, 32);
  }

  signKeyPair(): SignKeyPair {
    const kp = sodium.crypto_sign_seed_keypair(this.random(32));
    return { publicKey: kp.publicKey, secretKey: kp.privateKey };
  }

  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    this.counters.sign++;
    return sodium.crypto_sign_detached(message, secretKey);
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    this.counters.verify++;
    try {
      return sodium.crypto_sign_verify_detached(signature, message, publicKey);
    } catch {
      return false;
    }
  }

  /** X25519 between our Ed25519 secret key and their Ed25519 public key (Montgomery forms). */
  dh(ourSecret: Uint8Array, theirPublic: Uint8Array): Uint8Array {
    const sk = this.curveSecret(ourSecret);
    const pk = this.curvePublic(theirPublic);
    this.counters.scalarmult++;
    let shared: Uint8Array;
    try {
      shared = sodium.crypto_scalarmult(sk, pk);
    } catch {
      throw new CryptoError('low-order-point', 'X25519 produced an all-zero result');
    }
    if (shared.every((b) => b === 0)) {
      throw new CryptoError('low-order-point', 'X25519 produced an all-zero result');
    }
    return shared;
  }

  private curvePublic(edPublic: Uint8Array): Uint8Array {
    const key = toHex(edPublic);
    let cached = this.pkCurveCache.get(key);
    if (!cached) {
      this.counters.conversions++;
      try {
        cached = sodium.crypto_sign_ed25519_pk_to_curve25519(edPublic);
      } catch {
        throw new CryptoError('bad-key', 'not a valid Ed25519 public key');
      }
      this.remember(this.pkCurveCache, key, cached);
    }
    return cached;
  }

  private curveSecret(edSecret: Uint8Array): Uint8Array {
    // Keyed by the public half (the last 32 bytes), never by the secret itself.
    const key = toHex(edSecret.subarray(32));
    let cached = this.skCurveCache.get(key);
    if (!cached) {
      this.counters.conversions++;
      cached = sodium.crypto_sign_ed25519_sk_to_curve25519(edSecret);
      this.remember(this.skCurveCache, key, cached);
    }
    return cached;
  }

  private remember(cache: Map<string, Uint8Array>, key: string, value: Uint8Array): void {
    if (cache.size >= 4096) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, value);
  }

  /** XChaCha20-Poly1305 (IETF) with a random nonce; returns `nonce || ciphertext`. */
  seal(plaintext: Uint8Array, associatedData: Uint8Array, key: Uint8Array): Uint8Array {
    const nonce = this.random(AEAD_NONCE_BYTES);
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      plaintext,
      associatedData,
      null,
      nonce,
      key,
    );
    const out = new Uint8Array(nonce.length + ct.length);
    out.set(nonce, 0);
    out.set(ct, nonce.length);
    return out;
  }

  open(sealed: Uint8Array, associatedData: Uint8Array, key: Uint8Array): Uint8Array {
    if (sealed.length < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) {
      throw new CryptoError('decrypt-failed', 'ciphertext too short');
    }
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        sealed.subarray(AEAD_NONCE_BYTES),
        associatedData,
        sealed.subarray(0, AEAD_NONCE_BYTES),
        key,
      );
    } catch {
      throw new CryptoError('decrypt-failed', 'authentication failed');
    }
  }

  constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    return sodium.memcmp(a, b);
  }

  /** Zero a secret that has been used up. */
  wipe(secret: Uint8Array): void {
    sodium.memzero(secret);
  }
}

/** Cryptographic randomness for production hosts. */
export const systemRandom: Random = (length) => sodium.randombytes_buf(length);

/** A reproducible generator for tests and the simulator (NOT for production keys). */
export function seededRandom(seed: string): Random {
  let counter = 0;
  const key = sodium.crypto_generichash(32, encoder.encode(`conclave-test-rng:${seed}`), null);
  return (length) => {
    const nonce = new Uint8Array(sodium.crypto_stream_chacha20_NONCEBYTES);
    new DataView(nonce.buffer).setUint32(0, counter++);
    return sodium.crypto_stream_chacha20(length, key, nonce);
  };
}
