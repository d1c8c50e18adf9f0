// Messages and paging, known keys (trust on first use), snapshots and the event log.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KnownKeyMismatchError, StoreMisuseError } from '../../src-main/store';
import {
  bytes,
  chat,
  currentSession,
  log,
  member,
  openTestStore,
  sid,
  storeWithRoom,
  tempDir,
} from './helpers';

describe('messages', () => {
  it('round-trips a message with all its fields', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    store.applyEvent(roomId, 2, {
      log: log(),
      message: {
        sid: sid(1),
        senderNick: 'bob',
        senderFingerprint: 'fp-bob',
        body: 'héllo 👋',
        sentAt: 500,
        verification: 'verified',
        transcript: 'mismatch',
      },
    });
    expect(store.getMessages(roomId, { limit: 10 })).toEqual([
      {
        roomId,
        epoch: 1,
        seq: 2,
        sid: sid(1),
        senderNick: 'bob',
        senderFingerprint: 'fp-bob',
        body: 'héllo 👋',
        sentAt: 500,
        receivedAt: 1003,
        verification: 'verified',
        transcript: 'mismatch',
      },
    ]);
  });

  it('pages backwards, oldest first within a page, across epochs', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    for (let seq = 2; seq <= 11; seq++) chat(store, roomId, seq, `m${seq}`);
    store.rejoinRoom(roomId, 'relay log lost');
    store.applyEvent(roomId, 1, {
      log: log(),
      sessions: [
        {
          sid: sid(3),
          status: 'current',
          kind: 'genesis',
          parentSid: null,
          reason: 'rejoined',
          members: [member('alice')],
          progress: null,
        },
      ],
    });
    for (let seq = 2; seq <= 4; seq++) chat(store, roomId, seq, `n${seq}`, sid(3));

    const texts = (page: { body: string }[]) => page.map((m) => m.body);
    const newest = store.getMessages(roomId, { limit: 5 });
    expect(texts(newest)).toEqual(['m10', 'm11', 'n2', 'n3', 'n4']);
    const older = store.getMessages(roomId, { before: newest[0], limit: 5 });
    expect(texts(older)).toEqual(['m5', 'm6', 'm7', 'm8', 'm9']);
    const oldest = store.getMessages(roomId, { before: older[0], limit: 5 });
    expect(texts(oldest)).toEqual(['m2', 'm3', 'm4']);
    expect(store.getMessages(roomId, { before: oldest[0], limit: 5 })).toEqual([]);
    expect(() => store.getMessages(roomId, { limit: 0 })).toThrow(StoreMisuseError);
  });
});

describe('known keys (trust on first use)', () => {
  const key = (fill: number, nick = 'bob') => ({
    nick,
    publicKey: bytes(32, fill),
    fingerprint: `fp-${fill}`,
  });

  it('remembers the first key, holds a changed key as pending, and accepts it', async () => {
    const { store, roomId } = await storeWithRoom();
    const sight = (seq: number, ...keys: ReturnType<typeof key>[]) =>
      store.applyEvent(roomId, seq, { log: log(), keySightings: keys }).keySightings;

    expect(sight(1, key(1), key(5, 'carol'))).toEqual([
      { nick: 'bob', outcome: 'new' },
      { nick: 'carol', outcome: 'new' },
    ]);
    expect(sight(2, key(1))).toEqual([{ nick: 'bob', outcome: 'known' }]);
    expect(sight(3, key(2))).toEqual([{ nick: 'bob', outcome: 'changed' }]);
    expect(sight(4, key(2))).toEqual([{ nick: 'bob', outcome: 'still-pending' }]);
    expect(store.getKnownKey(roomId, 'bob')).toEqual({
      roomId,
      nick: 'bob',
      publicKey: bytes(32, 1),
      fingerprint: 'fp-1',
      firstSeenSeq: 1,
      verified: false,
      pending: { publicKey: bytes(32, 2), fingerprint: 'fp-2', seenSeq: 3 },
    });
    expect(store.getKnownKeys(roomId).map((k) => k.nick)).toEqual(['bob', 'carol']);

    expect(() => store.acceptKeyChange(roomId, 'bob', 'fp-9')).toThrow(KnownKeyMismatchError);
    expect(store.acceptKeyChange(roomId, 'bob', 'fp-2')).toMatchObject({
      publicKey: bytes(32, 2),
      fingerprint: 'fp-2',
      firstSeenSeq: 3,
      verified: false,
      pending: null,
    });
    expect(sight(5, key(2))).toEqual([{ nick: 'bob', outcome: 'known' }]);
  });

  it('marks the current key verified, or verifies and accepts the pending one', async () => {
    const { store, roomId } = await storeWithRoom();
    store.applyEvent(roomId, 1, { log: log(), keySightings: [key(1)] });
    expect(store.markVerified(roomId, 'bob', 'fp-1').verified).toBe(true);

    store.applyEvent(roomId, 2, { log: log(), keySightings: [key(2)] });
    expect(store.getKnownKey(roomId, 'bob')).toMatchObject({ verified: true, fingerprint: 'fp-1' });
    expect(store.markVerified(roomId, 'bob', 'fp-2')).toMatchObject({
      fingerprint: 'fp-2',
      verified: true,
      pending: null,
    });
    expect(() => store.markVerified(roomId, 'bob', 'fp-1')).toThrow(KnownKeyMismatchError);
    expect(() => store.markVerified(roomId, 'nobody', 'fp-1')).toThrow(StoreMisuseError);
  });
});

describe('snapshots and the event log', () => {
  it('keeps the latest snapshot, as of the cursor', async () => {
    const { store, roomId } = await storeWithRoom();
    expect(store.latestSnapshot(roomId)).toBeNull();
    store.applyEvent(roomId, 1, { log: log(), snapshot: bytes(100, 1) });
    store.applyEvent(roomId, 2, { log: log('drop: bad signature') });
    store.applyEvent(roomId, 3, { log: log(), snapshot: bytes(200, 3) });
    expect(store.latestSnapshot(roomId)).toEqual({
      roomId,
      epoch: 1,
      seq: 3,
      snapshot: bytes(200, 3),
      writtenAt: 1004,
    });
  });

  it('logs every event and keeps only the last N per room', async () => {
    const path = join(tempDir(), 'profile.db');
    const store = await openTestStore(path, { eventLogLimit: 5, now: () => 42 });
    const a = store.upsertRoom({ relayUrl: 'ws://r', name: 'a', nick: 'x' }).id;
    const b = store.upsertRoom({ relayUrl: 'ws://r', name: 'b', nick: 'x' }).id;
    for (let seq = 1; seq <= 12; seq++) {
      store.applyEvent(a, seq, { log: { type: 'joined', size: seq, outcome: 'accepted' } });
    }
    store.applyEvent(b, 1, { log: { type: 'message', size: 9, outcome: 'drop: not-a-member' } });
    // Pruned every min(limit, 64) inserts: never more than limit + that - 1 rows.
    const kept = store.eventLog(a, 100).map((e) => e.seq);
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(kept.length).toBeLessThanOrEqual(9);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 13 - kept.length + i));
    expect(store.eventLog(a, 5).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(store.eventLog(a, 2)).toEqual([
      { roomId: a, epoch: 1, seq: 11, type: 'joined', size: 11, outcome: 'accepted', at: 42 },
      { roomId: a, epoch: 1, seq: 12, type: 'joined', size: 12, outcome: 'accepted', at: 42 },
    ]);
    expect(store.eventLog(b, 100)).toEqual([
      {
        roomId: b,
        epoch: 1,
        seq: 1,
        type: 'message',
        size: 9,
        outcome: 'drop: not-a-member',
        at: 42,
      },
    ]);
  });
});
