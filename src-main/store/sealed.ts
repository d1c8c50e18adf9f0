// Encryption at rest: XChaCha20-Poly1305 (IETF) under the storage key, a random 24-byte nonce per
// value, and associated data naming the table, the column and the row the value belongs to, so a
// ciphertext copied into another row, column or table fails authentication instead of decrypting.
//
// Layout of a sealed value: [format 0x01][nonce 24][ciphertext + 16-byte tag].

import sodium from 'libsodium-wrappers-sumo';
import { StoreDataError } from './errors';

const FORMAT_V1 = 0x01;
const AD_LABEL = 'conclave/store/v1';
const utf8 = new TextEncoder();

/** Where a sealed value lives: the associated data it is bound to. */
export interface SealedSlot {
  readonly table: string;
  readonly column: string;
  /** The row's natural key, e.g. [roomId, sid]. */
  readonly row: readonly (string | number)[];
}

export async function sodiumReady(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}

/** Length-prefixed encoding: no two different slots give the same bytes. */
function associatedData(slot: SealedSlot): Uint8Array {
  const fields = [AD_LABEL, slot.table, slot.column, ...slot.row.map(String)].map((f) =>
    utf8.encode(f),
  );
  const out = new Uint8Array(fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const field of fields) {
    view.setUint32(at, field.length);
    out.set(field, at + 4);
    at += 4 + field.length;
  }
  return out;
}

function describe(slot: SealedSlot): string {
  return `${slot.table}.${slot.column} [${slot.row.join(', ')}]`;
}

/** Seals and opens values under one storage key; requires sodium to be ready. */
export class Sealer {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
      throw new RangeError('storage key must be 32 bytes');
    }
    this.#key = key;
  }

  seal(slot: SealedSlot, plaintext: Uint8Array): Uint8Array {
    // Web Crypto's CSPRNG: sodium.randombytes_buf costs ~0.4 ms per call in the wasm build.
    const nonce = crypto.getRandomValues(
      new Uint8Array(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES),
    );
    const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      plaintext,
      associatedData(slot),
      null,
      nonce,
      this.#key,
    );
    const out = new Uint8Array(1 + nonce.length + ciphertext.length);
    out[0] = FORMAT_V1;
    out.set(nonce, 1);
    out.set(ciphertext, 1 + nonce.length);
    return out;
  }

  open(slot: SealedSlot, sealed: Uint8Array): Uint8Array {
    const nonceBytes = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    const minimum = 1 + nonceBytes + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (sealed.length < minimum || sealed[0] !== FORMAT_V1) {
      throw new StoreDataError(`Encrypted value ${describe(slot)} has an unknown format.`);
    }
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        sealed.subarray(1 + nonceBytes),
        associatedData(slot),
        sealed.subarray(1, 1 + nonceBytes),
        this.#key,
      );
    } catch (cause) {
      throw new StoreDataError(
        `Encrypted value ${describe(slot)} failed authentication (tampered or misplaced).`,
        { cause },
      );
    }
  }

  sealText(slot: SealedSlot, text: string): Uint8Array {
    return this.seal(slot, utf8.encode(text));
  }

  openText(slot: SealedSlot, sealed: Uint8Array): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.open(slot, sealed));
  }

  /** Zeroes the key; the sealer is unusable afterwards. */
  destroy(): void {
    sodium.memzero(this.#key);
  }
}
