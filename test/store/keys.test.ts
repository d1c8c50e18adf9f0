// The storage key: created on first open, wrapped by a protector, recovered only with the right
// passphrase or OS key store, checked against the database, and zeroed on close.

import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SCHEMA_VERSION,
  DEFAULT_ARGON2_PARAMS,
  openStore,
  passphraseProtector,
  probeStore,
  ProtectorMismatchError,
  ProtectorUnavailableError,
  safeStorageProtector,
  WrongKeyError,
  WrongPassphraseError,
  type KeyProtector,
} from '../../src-main/store';
import { bytes, cheapPassphrase, fakeSafeStorage, openTestStore, tempDir } from './helpers';

async function writeSecret(path: string, protector: KeyProtector): Promise<void> {
  const store = await openStore({ path, protector });
  store.createIdentity(bytes(32, 1), bytes(64, 2));
  store.close();
}

describe('passphrase protector', () => {
  it('reopens with the right passphrase', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, cheapPassphrase('correct horse'));
    const store = await openTestStore(path, { protector: cheapPassphrase('correct horse') });
    expect(store.getIdentitySecretKey()).toEqual(bytes(64, 2));
  });

  it('gives WrongPassphraseError for a wrong passphrase, never garbage', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, cheapPassphrase('correct horse'));
    await expect(
      openStore({ path, protector: cheapPassphrase('battery staple') }),
    ).rejects.toBeInstanceOf(WrongPassphraseError);
    // The failed attempt released the file: the right passphrase still works.
    (await openTestStore(path, { protector: cheapPassphrase('correct horse') })).close();
  });

  it('stores the KDF parameters and salt with the wrapped key', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, passphraseProtector('pw', { opsLimit: 2, memLimit: 128 * 1024 }));
    const db = new Database(path);
    const { wrapped_key: wrapped } = db.prepare('SELECT wrapped_key FROM keyring').get() as {
      wrapped_key: Buffer;
    };
    db.close();
    const blob = JSON.parse(wrapped.toString('utf8')) as Record<string, unknown>;
    expect(blob).toMatchObject({
      format: 'conclave-passphrase-v1',
      kdf: 'argon2id13',
      opsLimit: 2,
      memLimit: 128 * 1024,
    });
    expect(Buffer.from(blob['salt'] as string, 'base64url')).toHaveLength(16);
    // Opening uses the stored parameters, not the protector's current defaults.
    const store = await openTestStore(path, { protector: cheapPassphrase('pw') });
    expect(store.getIdentitySecretKey()).toEqual(bytes(64, 2));
  });

  it('unlocks with the default (production) parameters', async () => {
    const path = join(tempDir(), 'p.db');
    const protector = passphraseProtector('a long passphrase');
    await writeSecret(path, protector);
    const started = performance.now();
    const store = await openStore({ path, protector });
    const elapsed = performance.now() - started;
    console.log(
      `Argon2id unlock (ops ${DEFAULT_ARGON2_PARAMS.opsLimit}, ` +
        `mem ${DEFAULT_ARGON2_PARAMS.memLimit >> 20} MiB): ${elapsed.toFixed(0)} ms`,
    );
    expect(store.getIdentitySecretKey()).toEqual(bytes(64, 2));
    store.close();
  });

  it('changes the passphrase by re-wrapping the same key', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, cheapPassphrase('old'));
    const store = await openStore({ path, protector: cheapPassphrase('old') });
    await store.rewrapStorageKey(cheapPassphrase('new'));
    store.close();
    await expect(openStore({ path, protector: cheapPassphrase('old') })).rejects.toBeInstanceOf(
      WrongPassphraseError,
    );
    const again = await openTestStore(path, { protector: cheapPassphrase('new') });
    expect(again.getIdentitySecretKey()).toEqual(bytes(64, 2));
  });
});

describe('safeStorage protector', () => {
  it('round-trips through a safeStorage-like object', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, safeStorageProtector(fakeSafeStorage()));
    expect(probeStore(path)).toEqual({
      exists: true,
      schemaVersion: SCHEMA_VERSION,
      protectorKind: 'safe-storage',
    });
    const store = await openTestStore(path, { protector: safeStorageProtector(fakeSafeStorage()) });
    expect(store.getIdentitySecretKey()).toEqual(bytes(64, 2));
  });

  it('gives WrongKeyError when the OS key store cannot decrypt', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, safeStorageProtector(fakeSafeStorage(0x11)));
    await expect(
      openStore({ path, protector: safeStorageProtector(fakeSafeStorage(0x22)) }),
    ).rejects.toBeInstanceOf(WrongKeyError);
  });

  it('gives ProtectorUnavailableError when encryption is unavailable', async () => {
    const path = join(tempDir(), 'p.db');
    await expect(
      openStore({ path, protector: safeStorageProtector(fakeSafeStorage(0x11, false)) }),
    ).rejects.toBeInstanceOf(ProtectorUnavailableError);
  });

  it('can move a profile from a passphrase to the OS key store', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, cheapPassphrase('pw'));
    const store = await openStore({ path, protector: cheapPassphrase('pw') });
    await store.rewrapStorageKey(safeStorageProtector(fakeSafeStorage()));
    store.close();
    expect(probeStore(path)).toMatchObject({ protectorKind: 'safe-storage' });
    const again = await openTestStore(path, { protector: safeStorageProtector(fakeSafeStorage()) });
    expect(again.getIdentitySecretKey()).toEqual(bytes(64, 2));
  });
});

describe('key handling', () => {
  it('refuses a protector of another kind than the stored one', async () => {
    const path = join(tempDir(), 'p.db');
    await writeSecret(path, cheapPassphrase('pw'));
    await expect(
      openStore({ path, protector: safeStorageProtector(fakeSafeStorage()) }),
    ).rejects.toMatchObject({ constructor: ProtectorMismatchError, storedKind: 'passphrase' });
  });

  it('detects a key that unwraps but belongs to another database', async () => {
    const dir = tempDir();
    await writeSecret(join(dir, 'a.db'), cheapPassphrase('pw'));
    await writeSecret(join(dir, 'b.db'), cheapPassphrase('pw'));
    // Graft a.db's wrapped key into b.db: it unwraps fine, but it is not b's storage key.
    const a = new Database(join(dir, 'a.db'));
    const wrapped = a.prepare('SELECT wrapped_key FROM keyring').pluck().get() as Buffer;
    a.close();
    const b = new Database(join(dir, 'b.db'));
    b.prepare('UPDATE keyring SET wrapped_key = ?').run(wrapped);
    b.close();
    await expect(
      openStore({ path: join(dir, 'b.db'), protector: cheapPassphrase('pw') }),
    ).rejects.toBeInstanceOf(WrongKeyError);
  });

  it('zeroes the storage key on close', async () => {
    const path = join(tempDir(), 'p.db');
    let handedOut: Uint8Array | undefined;
    const inner = cheapPassphrase('pw');
    const spying: KeyProtector = {
      kind: inner.kind,
      wrap: (key) => inner.wrap(key),
      unwrap: async (blob) => (handedOut = await inner.unwrap(blob)),
    };
    await writeSecret(path, cheapPassphrase('pw'));
    const store = await openStore({ path, protector: spying });
    expect(handedOut?.some((b) => b !== 0)).toBe(true);
    store.close();
    expect(handedOut).toEqual(new Uint8Array(32));
  });

  it('probes a missing profile without creating it', () => {
    const path = join(tempDir(), 'none.db');
    expect(probeStore(path)).toEqual({ exists: false });
    expect(existsSync(path)).toBe(false);
  });
});
