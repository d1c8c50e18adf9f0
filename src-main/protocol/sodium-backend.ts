// Two bindings of the same libsodium: the native one (sodium-native, N-API prebuilds, about 1.8x
// faster) where it loads, the WebAssembly one (libsodium-wrappers-sumo) everywhere else. Both
// produce identical bytes; test/protocol/vectors.test.ts checks each against frozen vectors.
import { createRequire } from 'node:module';
import sodium from 'libsodium-wrappers-sumo';
import type * as NativeModule from 'sodium-native';

export interface SodiumBackend {
  readonly name: 'native' | 'wasm';
  generichash(outLength: number, input: Uint8Array, key: Uint8Array | null): Uint8Array;
  signSeedKeypair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array };
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** Throws on a key that is not a valid Ed25519 point. */
  pkToCurve(publicKey: Uint8Array): Uint8Array;
  skToCurve(secretKey: Uint8Array): Uint8Array;
  /** Returns null for a low-order point (all-zero result). */
  scalarmult(secret: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
  aeadEncrypt(message: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** Returns null when authentication fails. */
  aeadDecrypt(
    sealed: Uint8Array,
    ad: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): Uint8Array | null;
  memcmp(a: Uint8Array, b: Uint8Array): boolean;
  memzero(buf: Uint8Array): void;
  randomBytes(length: number): Uint8Array;
}

export const wasmBackend: SodiumBackend = {
  name: 'wasm',
  generichash: (n, input, key) => sodium.crypto_generichash(n, input, key),
  signSeedKeypair: (seed) => {
    const kp = sodium.crypto_sign_seed_keypair(seed);
    return { publicKey: kp.publicKey, secretKey: kp.privateKey };
  },
  sign: (m, sk) => sodium.crypto_sign_detached(m, sk),
  verify: (sig, m, pk) => {
    try {
      return sodium.crypto_sign_verify_detached(sig, m, pk);
    } catch {
      return false;
    }
  },
  pkToCurve: (pk) => sodium.crypto_sign_ed25519_pk_to_curve25519(pk),
  skToCurve: (sk) => sodium.crypto_sign_ed25519_sk_to_curve25519(sk),
  scalarmult: (sk, pk) => {
    try {
      return sodium.crypto_scalarmult(sk, pk);
    } catch {
      return null;
    }
  },
  aeadEncrypt: (m, ad, nonce, key) =>
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, null, nonce, key),
  aeadDecrypt: (c, ad, nonce, key) => {
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, nonce, key);
    } catch {
      return null;
    }
  },
  memcmp: (a, b) => sodium.memcmp(a, b),
  memzero: (b) => sodium.memzero(b),
  randomBytes: (n) => sodium.randombytes_buf(n),
};

type Native = typeof NativeModule;

function nativeBackend(na: Native): SodiumBackend {
  return {
    name: 'native',
    generichash: (n, input, key) => {
      const out = new Uint8Array(n);
      if (key) na.crypto_generichash(out, input, key);
      else na.crypto_generichash(out, input);
      return out;
    },
    signSeedKeypair: (seed) => {
      const publicKey = new Uint8Array(32);
      const secretKey = new Uint8Array(64);
      na.crypto_sign_seed_keypair(publicKey, secretKey, seed);
      return { publicKey, secretKey };
    },
    sign: (m, sk) => {
      const sig = new Uint8Array(64);
      na.crypto_sign_detached(sig, m, sk);
      return sig;
    },
    verify: (sig, m, pk) => {
      try {
        return na.crypto_sign_verify_detached(sig, m, pk);
      } catch {
        return false;
      }
    },
    pkToCurve: (pk) => {
      const out = new Uint8Array(32);
      na.crypto_sign_ed25519_pk_to_curve25519(out, pk);
      return out;
    },
    skToCurve: (sk) => {
      const out = new Uint8Array(32);
      na.crypto_sign_ed25519_sk_to_curve25519(out, sk);
      return out;
    },
    scalarmult: (sk, pk) => {
      const out = new Uint8Array(32);
      try {
        na.crypto_scalarmult(out, sk, pk);
      } catch {
        return null;
      }
      return out;
    },
    aeadEncrypt: (m, ad, nonce, key) => {
      const out = new Uint8Array(m.length + 16);
      na.crypto_aead_xchacha20poly1305_ietf_encrypt(out, m, ad, null, nonce, key);
      return out;
    },
    aeadDecrypt: (c, ad, nonce, key) => {
      if (c.length < 16) return null;
      const out = new Uint8Array(c.length - 16);
      try {
        na.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, c, ad, nonce, key);
      } catch {
        return null;
      }
      return out;
    },
    memcmp: (a, b) => a.length === b.length && na.sodium_memcmp(a, b),
    memzero: (b) => na.sodium_memzero(b),
    randomBytes: (n) => {
      const out = new Uint8Array(n);
      na.randombytes_buf(out);
      return out;
    },
  };
}

let chosen: SodiumBackend | undefined;

/** Which binding a host asks for; without a choice, native where it loads. */
export type CryptoBackendChoice = SodiumBackend['name'];

/**
 * Pick the backend once: native unless the host asks for wasm or native cannot load. Without a
 * preference an earlier choice stands. Waits for the WebAssembly build either way (it is the
 * fallback and the reference). The choice comes from the host (an option or its environment),
 * never from this module, which stays free of I/O.
 */
export async function loadBackend(prefer?: CryptoBackendChoice): Promise<SodiumBackend> {
  await sodium.ready;
  if (chosen && (prefer === undefined || prefer === chosen.name)) return chosen;
  let picked: SodiumBackend = wasmBackend;
  if (prefer !== 'wasm') {
    try {
      picked = nativeBackend(createRequire(import.meta.url)('sodium-native') as Native);
    } catch {
      picked = wasmBackend;
    }
  }
  chosen = picked;
  return picked;
}

/** The backend chosen by loadBackend(); throws if called before it resolved. */
export function backend(): SodiumBackend {
  if (!chosen) throw new Error('cryptoReady() must be awaited before using Crypto');
  return chosen;
}
