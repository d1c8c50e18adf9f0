// The part of sodium-native's API that Conclave uses (the package ships no types).
declare module 'sodium-native' {
  type Bytes = Uint8Array;
  export function crypto_generichash(output: Bytes, input: Bytes, key?: Bytes | null): void;
  export function crypto_sign_seed_keypair(pk: Bytes, sk: Bytes, seed: Bytes): void;
  export function crypto_sign_detached(sig: Bytes, message: Bytes, sk: Bytes): void;
  export function crypto_sign_verify_detached(sig: Bytes, message: Bytes, pk: Bytes): boolean;
  export function crypto_sign_ed25519_pk_to_curve25519(out: Bytes, pk: Bytes): void;
  export function crypto_sign_ed25519_sk_to_curve25519(out: Bytes, sk: Bytes): void;
  export function crypto_scalarmult(out: Bytes, sk: Bytes, pk: Bytes): void;
  export function crypto_aead_xchacha20poly1305_ietf_encrypt(
    out: Bytes,
    message: Bytes,
    ad: Bytes | null,
    nsec: null,
    nonce: Bytes,
    key: Bytes,
  ): number;
  export function crypto_aead_xchacha20poly1305_ietf_decrypt(
    out: Bytes,
    nsec: null,
    ciphertext: Bytes,
    ad: Bytes | null,
    nonce: Bytes,
    key: Bytes,
  ): number;
  export function sodium_memcmp(a: Bytes, b: Bytes): boolean;
  export function sodium_memzero(buf: Bytes): void;
  export function randombytes_buf(buf: Bytes): void;
}
