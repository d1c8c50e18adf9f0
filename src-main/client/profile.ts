// The profile: the SQLite store unlocked by a passphrase or the OS key store, and the identity
// key kept in it. Store failures become the API's LOCKED and STORAGE errors here, once.
import type { IdentityInfo } from '../../src-shared/api';
import type { Crypto } from '../protocol/crypto';
import { fingerprint } from '../protocol/derive';
import type { SignKeyPair } from '../protocol/types';
import type { Argon2Params, KeyProtector, SafeStorageLike, Store } from '../store';
import {
  moveAsideCorrupt,
  openStore,
  passphraseProtector,
  safeStorageProtector,
  StoreCorruptError,
  StoreTooNewError,
  WrongKeyError,
} from '../store';
import { ApiFailure } from './errors';

export interface ProfileOptions {
  passphrase?: string;
  safeStorage?: SafeStorageLike;
  /** Argon2id cost; tests lower it, production keeps the store's defaults. */
  argon2?: Argon2Params;
  /** On a corrupt database: move it aside and start fresh instead of failing. */
  moveAsideCorrupt?: boolean;
}

function protectorFor(opts: ProfileOptions): KeyProtector {
  if (opts.safeStorage) return safeStorageProtector(opts.safeStorage);
  if (opts.passphrase !== undefined) return passphraseProtector(opts.passphrase, opts.argon2);
  throw new ApiFailure('LOCKED', 'no passphrase or OS key storage to unlock the profile');
}

/** Opens (or creates) the profile database at `path`, mapping store failures to API errors. */
export async function openProfileStore(opts: ProfileOptions, path: string): Promise<Store> {
  const protector = protectorFor(opts);
  try {
    return await openStore({ path, protector });
  } catch (error) {
    if (error instanceof StoreCorruptError) {
      if (opts.moveAsideCorrupt) {
        moveAsideCorrupt(path);
        return openStore({ path, protector });
      }
      throw new ApiFailure(
        'STORAGE',
        `${error.message}. Your profile database is damaged; start with the option to move it aside ` +
          `(headless: --move-aside-corrupt) to keep a copy and begin with a fresh profile.`,
      );
    }
    if (error instanceof StoreTooNewError) throw new ApiFailure('STORAGE', error.message);
    if (error instanceof WrongKeyError) throw new ApiFailure('LOCKED', error.message);
    throw error;
  }
}

/** This user's long-term signing key, created once and kept (encrypted) in the store. */
export class Profile {
  private key: SignKeyPair | null;

  constructor(
    readonly store: Store,
    readonly crypto: Crypto,
  ) {
    this.key = this.load();
  }

  private load(): SignKeyPair | null {
    const record = this.store.getIdentity();
    const secretKey = this.store.getIdentitySecretKey();
    return record && secretKey ? { publicKey: record.publicKey, secretKey } : null;
  }

  get identity(): SignKeyPair | null {
    return this.key;
  }

  /** The identity, or the API's NO_IDENTITY error. */
  requireIdentity(): SignKeyPair {
    if (!this.key) throw new ApiFailure('NO_IDENTITY', 'create an identity first');
    return this.key;
  }

  info(): IdentityInfo | null {
    const record = this.store.getIdentity();
    return record
      ? { fingerprint: fingerprint(this.crypto, record.publicKey), createdAt: record.createdAt }
      : null;
  }

  /** Creates the identity unless there is one; either way returns it. */
  create(): IdentityInfo {
    if (!this.key) {
      const kp = this.crypto.signKeyPair();
      this.store.createIdentity(kp.publicKey, kp.secretKey);
      this.key = this.load();
    }
    return this.info() as IdentityInfo;
  }
}
