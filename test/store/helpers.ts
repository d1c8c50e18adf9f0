// Shared helpers for the store tests: temporary profile folders, cheap protectors and sample
// protocol values.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import {
  openStore,
  passphraseProtector,
  type EventChanges,
  type KeyProtector,
  type OpenStoreOptions,
  type RoomId,
  type SafeStorageLike,
  type Store,
} from '../../src-main/store';

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A fresh folder, removed after the test (with any store still open in it closed first). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-store-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Argon2id at its minimum cost: the tests are about the store, not the KDF's strength. */
export function cheapPassphrase(passphrase: string): KeyProtector {
  return passphraseProtector(passphrase, { opsLimit: 1, memLimit: 64 * 1024 });
}

/**
 * Stands in for Electron's safeStorage: "encrypts" by XOR with a per-instance byte and a tag, and
 * refuses blobs from another instance, as another OS keyring would.
 */
export function fakeSafeStorage(osKey = 0x5a, available = true): SafeStorageLike {
  const tag = Buffer.from(`fake-os-${osKey}:`);
  return {
    isEncryptionAvailable: () => available,
    encryptString: (plain) =>
      Buffer.concat([tag, Buffer.from(plain, 'utf8').map((b) => b ^ osKey)]),
    decryptString: (encrypted) => {
      if (!encrypted.subarray(0, tag.length).equals(tag)) throw new Error('Error while decrypting');
      return Buffer.from(encrypted.subarray(tag.length).map((b) => b ^ osKey)).toString('utf8');
    },
  };
}

export async function openTestStore(
  path: string,
  options: Partial<OpenStoreOptions> = {},
): Promise<Store> {
  const store = await openStore({ path, protector: cheapPassphrase('test'), ...options });
  cleanups.push(() => store.close());
  return store;
}

/** A valid-looking sid: 64 hex characters derived from n. */
export function sid(n: number): string {
  return n.toString(16).padStart(2, '0').repeat(32).slice(0, 64);
}

export function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

// Sample events

export const log = (outcome = 'accepted'): EventChanges['log'] => ({
  type: 'message',
  size: 10,
  outcome,
});
export const member = (nick: string) => ({ nick, fingerprint: `fp-${nick}` });

/** A store with a clock counting 1000, 1001, ... and one room. */
export async function storeWithRoom(): Promise<{ store: Store; roomId: RoomId; path: string }> {
  const path = join(tempDir(), 'profile.db');
  let clock = 1_000;
  const store = await openTestStore(path, { now: () => clock++ });
  const room = store.upsertRoom({ relayUrl: 'ws://relay', name: 'ops', nick: 'alice' });
  return { store, roomId: room.id, path };
}

/** Event `seq`: a message from bob in session `sessionId`. */
export function chat(store: Store, roomId: RoomId, seq: number, text: string, sessionId = sid(1)) {
  return store.applyEvent(roomId, seq, {
    log: log(),
    message: {
      sid: sessionId,
      senderNick: 'bob',
      senderFingerprint: 'fp-bob',
      body: text,
      verification: 'unverified',
      transcript: 'ok',
    },
  });
}

/** Event `seq`: session sid(1) becomes current, with secret bytes(32, 7). */
export function currentSession(store: Store, roomId: RoomId, seq: number) {
  store.applyEvent(roomId, seq, {
    log: log(),
    sessions: [
      {
        sid: sid(1),
        status: 'current',
        kind: 'genesis',
        parentSid: null,
        reason: 'created alone',
        members: [member('alice'), member('bob')],
        progress: null,
        secret: bytes(32, 7),
      },
    ],
  });
}
