// Secrets at rest: the raw bytes of the database and its WAL hold no known plaintext, key bytes or
// storage key; a sealed value moved to another row does not decrypt; a dead session's sealed
// secret does not linger in the file.

import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  openStore,
  StoreDataError,
  type RoomId,
  type SessionUpsert,
  type Store,
} from '../../src-main/store';
import { bytes, cheapPassphrase, openTestStore, sid, tempDir } from './helpers';

function rawFiles(path: string): Buffer {
  return Buffer.concat(
    [path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)),
  );
}

/** Every needle found in the raw files, as its label. */
function found(path: string, needles: Record<string, Buffer | string>): string[] {
  const haystack = rawFiles(path);
  return Object.entries(needles)
    .filter(([, needle]) => haystack.includes(needle))
    .map(([label]) => label);
}

function rawOne<T>(path: string, sql: string, ...params: unknown[]): T {
  const db = new Database(path);
  try {
    return db
      .prepare(sql)
      .pluck()
      .get(...params) as T;
  } finally {
    db.close();
  }
}

describe('plaintext scan', () => {
  it('finds no message text, key bytes, session secret, snapshot or storage key on disk', async () => {
    const path = join(tempDir(), 'p.db');
    const protector = cheapPassphrase('scan');
    const store = await openStore({ path, protector });

    const identitySecret = randomBytes(64);
    const sessionSecret = randomBytes(32);
    const messageText = 'MESSAGE-MARKER the launch code is 0000';
    const snapshot = Buffer.concat([Buffer.from('SNAPSHOT-MARKER'), sessionSecret]);
    const resumeToken = 'RESUME-TOKEN-MARKER-9f8e7d';

    store.createIdentity(randomBytes(32), identitySecret);
    const roomId = store.upsertRoom({ relayUrl: 'ws://r', name: 'room', nick: 'NICK-IN-CLEAR' }).id;
    store.setResumeToken(roomId, resumeToken);
    store.applyEvent(roomId, 1, {
      log: { type: 'message', size: 100, outcome: 'accepted' },
      snapshot,
      sessions: [
        {
          sid: sid(1),
          status: 'current',
          kind: 'genesis',
          parentSid: null,
          reason: 'created alone',
          members: [{ nick: 'NICK-IN-CLEAR', fingerprint: 'fp' }],
          progress: null,
          secret: sessionSecret,
        },
      ],
      message: {
        sid: sid(1),
        senderNick: 'NICK-IN-CLEAR',
        senderFingerprint: 'fp',
        body: messageText,
        verification: 'verified',
        transcript: 'ok',
      },
    });

    // A team relay's access token and an unsent message (migration 5) are sealed too.
    store.saveRelay('https://team.example', 'RELAY-TOKEN-MARKER-31c2');
    store.addOutbox(roomId, 'out1', 'OUTBOX-MARKER not sent yet');

    const wrapped = rawOne<Buffer>(path, 'SELECT wrapped_key FROM keyring');
    const storageKey = Buffer.from(await protector.unwrap(wrapped));
    const secrets = {
      messageText,
      snapshotMarker: 'SNAPSHOT-MARKER',
      resumeToken,
      relayToken: 'RELAY-TOKEN-MARKER-31c2',
      outbox: 'OUTBOX-MARKER',
      identitySecret,
      identitySecretHex: identitySecret.toString('hex'),
      identitySeedHalf: identitySecret.subarray(0, 32),
      sessionSecret,
      sessionSecretHex: sessionSecret.toString('hex'),
      storageKey,
      storageKeyHex: storageKey.toString('hex'),
      storageKeyBase64: storageKey.toString('base64'),
    };

    // While open, the writes sit in the WAL: scan it too (and prove the scan sees clear text).
    expect(readFileSync(`${path}-wal`).length).toBeGreaterThan(0);
    expect(found(path, { nick: 'NICK-IN-CLEAR' })).toEqual(['nick']);
    expect(found(path, secrets)).toEqual([]);

    store.close();
    expect(found(path, { nick: 'NICK-IN-CLEAR' })).toEqual(['nick']);
    expect(found(path, secrets)).toEqual([]);
  });
});

describe('sealed values are bound to their row', () => {
  async function twoMessages(): Promise<{ path: string; roomId: RoomId }> {
    const path = join(tempDir(), 'p.db');
    const store = await openTestStore(path);
    const roomId = store.upsertRoom({ relayUrl: 'ws://r', name: 'room', nick: 'a' }).id;
    const session = (n: number): SessionUpsert => ({
      sid: sid(n),
      status: n === 2 ? 'current' : 'in-limbo',
      kind: 'genesis',
      parentSid: null,
      reason: 'r',
      members: [],
      progress: null,
      secret: bytes(32, n),
    });
    store.applyEvent(roomId, 1, {
      log: { type: 'm', size: 1, outcome: 'accepted' },
      sessions: [session(1), session(2)],
    });
    for (const seq of [2, 3]) {
      store.applyEvent(roomId, seq, {
        log: { type: 'm', size: 1, outcome: 'accepted' },
        message: {
          sid: sid(2),
          senderNick: 'b',
          senderFingerprint: 'f',
          body: `text ${seq}`,
          verification: 'verified',
          transcript: 'ok',
        },
      });
    }
    store.close();
    return { path, roomId };
  }

  function tamper(path: string, sql: string): void {
    const db = new Database(path);
    db.exec(sql);
    db.close();
  }

  async function reopen(path: string): Promise<Store> {
    return openTestStore(path);
  }

  it('a message body copied into another message fails authentication', async () => {
    const { path, roomId } = await twoMessages();
    tamper(
      path,
      `UPDATE messages SET body_sealed = (SELECT body_sealed FROM messages WHERE seq = 2)
       WHERE seq = 3`,
    );
    const store = await reopen(path);
    expect(() => store.getMessages(roomId, { limit: 10 })).toThrow(StoreDataError);
    expect(() => store.getMessages(roomId, { limit: 10 })).toThrow(/messages.body_sealed/);
  });

  it('a session secret copied into another session fails authentication', async () => {
    const { path, roomId } = await twoMessages();
    tamper(
      path,
      `UPDATE sessions SET secret_sealed =
         (SELECT secret_sealed FROM sessions WHERE sid = '${sid(1)}') WHERE sid = '${sid(2)}'`,
    );
    const store = await reopen(path);
    expect(store.getSessionSecret(roomId, sid(1))).toEqual(bytes(32, 1));
    expect(() => store.getSessionSecret(roomId, sid(2))).toThrow(StoreDataError);
  });

  it('a flipped bit in a sealed value fails authentication', async () => {
    const { path, roomId } = await twoMessages();
    const sealed = rawOne<Buffer>(path, 'SELECT body_sealed FROM messages WHERE seq = 2');
    sealed[sealed.length - 1]! ^= 1;
    const db = new Database(path);
    db.prepare('UPDATE messages SET body_sealed = ? WHERE seq = 2').run(sealed);
    db.close();
    const store = await reopen(path);
    expect(() => store.getMessages(roomId, { limit: 10 })).toThrow(StoreDataError);
  });
});

describe('dead session secrets', () => {
  it('are gone from the file, not only from the row, once the session dies', async () => {
    const path = join(tempDir(), 'p.db');
    const store = await openTestStore(path);
    const roomId = store.upsertRoom({ relayUrl: 'ws://r', name: 'room', nick: 'a' }).id;
    const alive: SessionUpsert = {
      sid: sid(1),
      status: 'current',
      kind: 'genesis',
      parentSid: null,
      reason: 'r',
      members: [],
      progress: null,
      secret: randomBytes(2000),
    };
    store.applyEvent(roomId, 1, {
      log: { type: 'm', size: 1, outcome: 'accepted' },
      sessions: [alive],
    });
    const sealed = rawOne<Buffer>(path, 'SELECT secret_sealed FROM sessions');
    // Any 32-byte stretch of it: a freed cell may be partly overwritten, the rest still readable.
    const pieces = Object.fromEntries(
      Array.from({ length: Math.floor(sealed.length / 32) }, (_, i) => [
        `bytes ${i * 32}..${i * 32 + 31}`,
        sealed.subarray(i * 32, i * 32 + 32),
      ]),
    );
    expect(found(path, pieces)).toHaveLength(Object.keys(pieces).length);

    store.applyEvent(roomId, 2, {
      log: { type: 'm', size: 1, outcome: 'accepted' },
      sessions: [{ ...alive, status: 'dead', secret: null }],
    });
    store.close(); // checkpoints the WAL into the database file
    expect(found(path, pieces)).toEqual([]);
  });
});
