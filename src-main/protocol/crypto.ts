// The engine's only window onto cryptography: libsodium through a SodiumBackend (native or
// WebAssembly, identical bytes). Randomness is injected so that tests and the simulator are
// reproducible and the engine itself stays pure.
import type { CryptoBackendChoice, SodiumBackend } from './sodium-backend';
import { backend, loadBackend } from './sodium-backend';
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

export type { CryptoBackendChoice };

/** libsodium must be initialised once before any `Crypto` is built (an earlier choice stands). */
export async function cryptoReady(): Promise<SodiumBackend> {
  return loadBackend();
}

/**
 * The same, with the host's choice of binding (see `cryptoBackendFromEnv` in src-main/host for
 * the hosts' CONCLAVE_CRYPTO variable); later `cryptoReady()` calls keep it. cryptoReady itself
 * takes no argument: tests hand it to beforeAll, which passes its own.
 */
export async function cryptoReadyWith(
  choice: CryptoBackendChoice | undefined,
): Promise<SodiumBackend> {
  return loadBackend(choice);
}

const encoder = new TextEncoder();
/** Labels are a small fixed set: encode each once. */
const labelCache = new Map<string, Uint8Array>();

/** Counters make the cost of a design visible in tests and benchmarks. */
export interface CryptoCounters {
  sign: number;
  verify: number;
  scalarmult: number;
  conversions: number;
  /** Verifications skipped because the frame is one this instance signed (see `sign`). */
  ownVerifySkipped: number;
  /**
   * The part of `verify` done ahead of time on another thread (`acceptVerified`): same
   * libsodium call, same bytes, only not on the engine's thread.
   */
  verifyOffThread: number;
}

/** How many of its own recent signatures an instance recognises. */
const OWN_SIGNATURES = 256;
/** How many verified-ahead frames an instance holds before dropping the oldest. */
const VERIFIED_AHEAD = 4096;

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;

/** All counters at zero. */
export function zeroCounters(): CryptoCounters {
  return {
    sign: 0,
    verify: 0,
    scalarmult: 0,
    conversions: 0,
    ownVerifySkipped: 0,
    verifyOffThread: 0,
  };
}

export class Crypto {
  readonly counters: CryptoCounters = zeroCounters();
  private readonly pkCurveCache = new Map<string, Uint8Array>();
  private readonly skCurveCache = new Map<string, Uint8Array>();
  /**
   * Signatures this instance made, by signature: the relay reflects every frame back to its
   * sender, and a frame that is byte for byte one we signed needs no second verification.
   */
  private readonly ownSignatures = new Map<
    string,
    { message: Uint8Array; publicKey: Uint8Array }
  >();
  /**
   * Frames whose signature a host verified ahead of the engine (on a worker thread), by
   * signature. An entry answers one `verify` call with exactly the same signature, message and
   * key, then is gone.
   */
  private readonly verifiedAhead = new Map<
    string,
    { message: Uint8Array; publicKey: Uint8Array }
  >();
  readonly na: SodiumBackend;

  /**
   * `verifyMemo`, when given, remembers verification results by (signature, key, message
   * digest). The simulator shares one across its many in-process clients, which all verify the
   * same frames; a production client has no use for it.
   */
  constructor(
    readonly random: Random,
    private readonly verifyMemo?: Map<string, boolean>,
    na?: SodiumBackend,
  ) {
    this.na = na ?? backend();
  }

  /** `H(label, x1, x2, ...)`: BLAKE2b-256 over a label and length-prefixed fields. */
  hash(label: string, ...fields: Uint8Array[]): Uint8Array {
    let labelBytes = labelCache.get(label);
    if (!labelBytes) {
      labelBytes = encoder.encode(label);
      labelCache.set(label, labelBytes);
    }
    let total = 4 + labelBytes.length;
    for (const f of fields) total += 4 + f.length;
    const input = new Uint8Array(total);
    const view = new DataView(input.buffer);
    let offset = 0;
    const put = (bytes: Uint8Array) => {
      view.setUint32(offset, bytes.length);
      input.set(bytes, offset + 4);
      offset += 4 + bytes.length;
    };
    put(labelBytes);
    for (const f of fields) put(f);
    return this.na.generichash(32, input, null);
  }

  signKeyPair(): SignKeyPair {
    return this.na.signSeedKeypair(this.random(32));
  }

  /** The Ed25519 key pair of a 32-byte seed (what a REVEAL carries). */
  signKeyPairFromSeed(seed: Uint8Array): SignKeyPair {
    return this.na.signSeedKeypair(seed);
  }

  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    this.counters.sign++;
    const signature = this.na.sign(message, secretKey);
    if (this.ownSignatures.size >= OWN_SIGNATURES) {
      const oldest = this.ownSignatures.keys().next().value;
      if (oldest !== undefined) this.ownSignatures.delete(oldest);
    }
    // libsodium's Ed25519 secret key is seed || public key.
    this.ownSignatures.set(toHex(signature), {
      message: message.slice(),
      publicKey: secretKey.slice(32, 64),
    });
    return signature;
  }

  /** True when this instance made `signature` (its frame needs no verification by anyone here). */
  isOwnSignature(signature: Uint8Array): boolean {
    return this.ownSignatures.has(toHex(signature));
  }

  /**
   * Records that libsodium's `crypto_sign_verify_detached(signature, message, publicKey)`
   * returned true on another thread. Only a host that ran exactly that call may say so; the
   * engine's next `verify` of the same three values then takes the answer instead of repeating
   * the work. The bytes are copied: a later change to the caller's buffers cannot widen it.
   */
  acceptVerified(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void {
    if (signature.length !== 64 || publicKey.length !== 32) return;
    if (this.verifiedAhead.size >= VERIFIED_AHEAD) {
      const oldest = this.verifiedAhead.keys().next().value;
      if (oldest !== undefined) this.verifiedAhead.delete(oldest);
    }
    this.verifiedAhead.set(toHex(signature), {
      message: message.slice(),
      publicKey: publicKey.slice(),
    });
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    const sigHex = toHex(signature);
    const own = this.ownSignatures.get(sigHex);
    if (own && bytesEqual(own.publicKey, publicKey) && bytesEqual(own.message, message)) {
      this.counters.ownVerifySkipped++;
      return true;
    }
    const ahead = this.verifiedAhead.get(sigHex);
    if (ahead) {
      this.verifiedAhead.delete(sigHex);
      if (bytesEqual(ahead.publicKey, publicKey) && bytesEqual(ahead.message, message)) {
        this.counters.verify++;
        this.counters.verifyOffThread++;
        return true;
      }
    }
    const memoKey = this.verifyMemo
      ? toHex(signature) + toHex(publicKey) + toHex(this.na.generichash(16, message, null))
      : '';
    const memo = this.verifyMemo?.get(memoKey);
    if (memo !== undefined) return memo;
    this.counters.verify++;
    const ok = this.na.verify(signature, message, publicKey);
    if (this.verifyMemo) {
      if (this.verifyMemo.size > 100_000) this.verifyMemo.clear();
      this.verifyMemo.set(memoKey, ok);
    }
    return ok;
  }

  /** X25519 between our Ed25519 secret key and their Ed25519 public key (Montgomery forms). */
  dh(ourSecret: Uint8Array, theirPublic: Uint8Array): Uint8Array {
    const sk = this.curveSecret(ourSecret);
    const pk = this.curvePublic(theirPublic);
    this.counters.scalarmult++;
    const shared = this.na.scalarmult(sk, pk);
    if (!shared || shared.every((b) => b === 0)) {
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
        cached = this.na.pkToCurve(edPublic);
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
      cached = this.na.skToCurve(edSecret);
      this.remember(this.skCurveCache, key, cached);
    }
    return cached;
  }

  private remember(cache: Map<string, Uint8Array>, key: string, value: Uint8Array): void {
    if (cache.size >= 4096) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) {
        cache.get(oldest)?.fill(0);
        cache.delete(oldest);
      }
    }
    cache.set(key, value);
  }

  /** XChaCha20-Poly1305 (IETF) with a random nonce; returns `nonce || ciphertext`. */
  seal(plaintext: Uint8Array, associatedData: Uint8Array, key: Uint8Array): Uint8Array {
    const nonce = this.random(AEAD_NONCE_BYTES);
    const ct = this.na.aeadEncrypt(plaintext, associatedData, nonce, key);
    const out = new Uint8Array(nonce.length + ct.length);
    out.set(nonce, 0);
    out.set(ct, nonce.length);
    return out;
  }

  open(sealed: Uint8Array, associatedData: Uint8Array, key: Uint8Array): Uint8Array {
    if (sealed.length < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) {
      throw new CryptoError('decrypt-failed', 'ciphertext too short');
    }
    const plain = this.na.aeadDecrypt(
      sealed.subarray(AEAD_NONCE_BYTES),
      associatedData,
      sealed.subarray(0, AEAD_NONCE_BYTES),
      key,
    );
    if (!plain) throw new CryptoError('decrypt-failed', 'authentication failed');
    return plain;
  }

  constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
    return a.length === b.length && this.na.memcmp(a, b);
  }

  /** Zero a secret that has been used up. */
  wipe(secret: Uint8Array): void {
    this.na.memzero(secret);
  }
}

/**
 * Cryptographic randomness for production hosts: the platform CSPRNG (Web Crypto), which costs
 * microseconds where the WebAssembly randombytes_buf costs a few hundred.
 */
export const systemRandom: Random = (length) =>
  globalThis.crypto.getRandomValues(new Uint8Array(length));

/** A reproducible generator for tests and the simulator (NOT for production keys). */
export function seededRandom(seed: string): Random {
  let counter = 0;
  const key = backend().generichash(32, encoder.encode(`conclave-test-rng:${seed}`), null);
  return (length) => {
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 64) {
      const block = new Uint8Array(8);
      new DataView(block.buffer).setBigUint64(0, BigInt(counter++));
      out.set(
        backend()
          .generichash(64, block, key)
          .subarray(0, Math.min(64, length - offset)),
        offset,
      );
    }
    return out;
  };
}
