// Key protectors wrap the 32-byte storage key for the keyring table; the key itself never reaches
// the disk in clear. Electron uses the OS key store (safeStorage); headless hosts use a passphrase
// stretched with Argon2id. The wrapped blob is self-describing, so KDF parameters can change in a
// later release without breaking old profiles (rewrap with Store.rewrapStorageKey).

import * as v from 'valibot';
import {
  ProtectorUnavailableError,
  StoreMisuseError,
  WrongKeyError,
  WrongPassphraseError,
} from './errors';
import { sodiumReady } from './sealed';

export interface KeyProtector {
  /** Stable name stored beside the wrapped key, e.g. 'passphrase' or 'safe-storage'. */
  readonly kind: string;
  wrap(key: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Throws WrongKeyError (WrongPassphraseError for passphrases) when the blob does not open. */
  unwrap(blob: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

// ---------------------------------------------------------------------------------------------
// Passphrase: Argon2id (crypto_pwhash) -> key-encryption key -> XChaCha20-Poly1305 over the key.

export interface Argon2Params {
  /** Passes over memory. */
  readonly opsLimit: number;
  /** Bytes of memory. */
  readonly memLimit: number;
}

/**
 * Half of libsodium's MODERATE memory (256 MiB) with its opslimit: about 0.4 s on the reference
 * machine (2 cores, wasm build). The WebAssembly heap keeps this memory for the process lifetime.
 */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { opsLimit: 3, memLimit: 128 * 1024 * 1024 };

const PassphraseBlob = v.object({
  format: v.literal('conclave-passphrase-v1'),
  kdf: v.literal('argon2id13'),
  opsLimit: v.pipe(v.number(), v.integer(), v.minValue(1)),
  memLimit: v.pipe(v.number(), v.integer(), v.minValue(8192)),
  salt: v.string(),
  nonce: v.string(),
  wrapped: v.string(),
});

const WRAP_AD = new TextEncoder().encode('conclave/storage-key/passphrase-v1');
const utf8 = new TextEncoder();

export function passphraseProtector(
  passphrase: string,
  params: Argon2Params = DEFAULT_ARGON2_PARAMS,
): KeyProtector {
  if (passphrase.length === 0) throw new StoreMisuseError('The passphrase must not be empty.');

  return {
    kind: 'passphrase',
    async wrap(key) {
      const sodium = await sodiumReady();
      const salt = sodium.randombytes_buf(sodium.crypto_pwhash_SALTBYTES);
      const nonce = sodium.randombytes_buf(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
      const kek = deriveKek(sodium, passphrase, salt, params);
      try {
        const wrapped = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
          key,
          WRAP_AD,
          null,
          nonce,
          kek,
        );
        const blob: v.InferOutput<typeof PassphraseBlob> = {
          format: 'conclave-passphrase-v1',
          kdf: 'argon2id13',
          opsLimit: params.opsLimit,
          memLimit: params.memLimit,
          salt: sodium.to_base64(salt),
          nonce: sodium.to_base64(nonce),
          wrapped: sodium.to_base64(wrapped),
        };
        return utf8.encode(JSON.stringify(blob));
      } finally {
        sodium.memzero(kek);
      }
    },
    async unwrap(bytes) {
      const sodium = await sodiumReady();
      const blob = parsePassphraseBlob(bytes);
      const kek = deriveKek(sodium, passphrase, sodium.from_base64(blob.salt), blob);
      try {
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
          null,
          sodium.from_base64(blob.wrapped),
          WRAP_AD,
          sodium.from_base64(blob.nonce),
          kek,
        );
      } catch {
        // The AEAD tag is the only thing that can tell a wrong passphrase from a right one.
        throw new WrongPassphraseError();
      } finally {
        sodium.memzero(kek);
      }
    },
  };
}

function parsePassphraseBlob(bytes: Uint8Array): v.InferOutput<typeof PassphraseBlob> {
  try {
    return v.parse(PassphraseBlob, JSON.parse(new TextDecoder().decode(bytes)));
  } catch (cause) {
    throw new WrongKeyError('The stored key is not a passphrase-wrapped key.', { cause });
  }
}

function deriveKek(
  sodium: Awaited<ReturnType<typeof sodiumReady>>,
  passphrase: string,
  salt: Uint8Array,
  params: Argon2Params,
): Uint8Array {
  return sodium.crypto_pwhash(
    sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
    passphrase,
    salt,
    params.opsLimit,
    params.memLimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
}

// ---------------------------------------------------------------------------------------------
// OS key store: typed structurally after Electron's safeStorage so this file never imports electron.

export interface SafeStorageLike {
  isEncryptionAvailable?(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export function safeStorageProtector(safeStorage: SafeStorageLike): KeyProtector {
  return {
    kind: 'safe-storage',
    async wrap(key) {
      const sodium = await sodiumReady();
      if (safeStorage.isEncryptionAvailable?.() === false) {
        throw new ProtectorUnavailableError('The OS key store is not available for encryption.');
      }
      return new Uint8Array(safeStorage.encryptString(sodium.to_base64(key)));
    },
    async unwrap(blob) {
      const sodium = await sodiumReady();
      if (safeStorage.isEncryptionAvailable?.() === false) {
        throw new ProtectorUnavailableError('The OS key store is not available for decryption.');
      }
      let key: Uint8Array;
      try {
        key = sodium.from_base64(safeStorage.decryptString(Buffer.from(blob)));
      } catch (cause) {
        throw new WrongKeyError('The OS key store could not unwrap the storage key.', { cause });
      }
      if (key.length !== sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
        throw new WrongKeyError('The OS key store returned a key of the wrong size.');
      }
      return key;
    },
  };
}
