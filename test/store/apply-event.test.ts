// applyEvent is all or nothing: a batch that fails at any point leaves the database exactly as it
// was, cursor included, and an event at or below the cursor is refused.

import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EventAlreadyAppliedError,
  StoreConstraintError,
  StoreIoError,
  StoreMisuseError,
  type EventChanges,
  type RoomId,
  type SessionUpsert,
  type Store,
} from '../../src-main/store';
import { bytes, openTestStore, sid, tempDir } from './helpers';

const session = (n: number, status: SessionUpsert['status'] = 'in-limbo'): SessionUpsert => ({
  sid: sid(n),
  status,
  kind: 'genesis',
  parentSid: null,
  reason: `reason ${n}`,
  members: [{ nick: 'alice', fingerprint: 'fp-a' }],
  progress: { shares: [0, 1] },
  secret: status === 'dead' ? null : bytes(32, n),
});

/** Everything a batch could have touched, to compare before and after. */
function everything(store: Store, roomId: RoomId) {
  return {
    room: store.getRoom(roomId),
    sessions: store.listSessions(roomId),
    history: store.getSessionHistory(roomId),
    messages: store.getMessages(roomId, { limit: 100 }),
    keys: store.getKnownKeys(roomId),
    snapshot: store.latestSnapshot(roomId),
    log: store.eventLog(roomId, 100),
  };
}

/** A full batch touching every table for event `seq`: session seq replaces seq - 1 as current. */
function fullBatch(seq: number): EventChanges {
  const superseded = seq > 1 ? [{ ...session(seq - 1, 'dead'), reason: 'superseded' }] : [];
  return {
    log: { type: 'message', size: 321, outcome: 'accepted' },
    snapshot: bytes(64, seq),
    sessions: [session(seq, 'current'), ...superseded],
    history: [{ sid: sid(seq), status: 'current', reason: 'join of bob' }],
    keySightings: [{ nick: `nick${seq}`, publicKey: bytes(32, seq), fingerprint: `fp${seq}` }],
    message: {
      sid: sid(seq),
      senderNick: 'bob',
      senderFingerprint: 'fp-b',
      body: `message ${seq}`,
      verification: 'unverified',
      transcript: 'ok',
    },
  };
}

async function setup() {
  const store = await openTestStore(join(tempDir(), 'p.db'));
  const roomId = store.upsertRoom({ relayUrl: 'ws://r', name: 'room', nick: 'alice' }).id;
  store.applyEvent(roomId, 1, fullBatch(1));
  return { store, roomId };
}

describe('applyEvent', () => {
  it('applies a full batch and advances the cursor', async () => {
    const { store, roomId } = await setup();
    const result = store.applyEvent(roomId, 2, fullBatch(2));
    expect(result).toEqual({ cursorSeq: 2, keySightings: [{ nick: 'nick2', outcome: 'new' }] });
    const state = everything(store, roomId);
    expect(state.room?.cursorSeq).toBe(2);
    expect(state.sessions.map((s) => s.status)).toEqual(['dead', 'current']);
    expect(state.messages.map((m) => m.body)).toEqual(['message 1', 'message 2']);
    expect(state.snapshot?.seq).toBe(2);
    expect(state.log.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('refuses an event at or below the cursor and changes nothing', async () => {
    const { store, roomId } = await setup();
    const before = everything(store, roomId);
    for (const seq of [1, 0, -3]) {
      expect(() => store.applyEvent(roomId, seq, { log: fullBatch(1).log })).toThrow(
        seq === 1 ? EventAlreadyAppliedError : StoreMisuseError,
      );
    }
    expect(() => store.applyEvent(roomId, 1.5, fullBatch(2))).toThrow(StoreMisuseError);
    expect(everything(store, roomId)).toEqual(before);
  });

  it('allows gaps forward (the client, not the store, waits for missing seqs)', async () => {
    const { store, roomId } = await setup();
    store.applyEvent(roomId, 10, { log: { type: 'left', size: 5, outcome: 'accepted' } });
    expect(store.getRoom(roomId)?.cursorSeq).toBe(10);
  });

  const good = fullBatch(2);
  const failures: [string, EventChanges, new (...args: never[]) => Error, RegExp][] = [
    [
      'a message for an unknown session (foreign key), after sessions, history and keys',
      { ...good, message: { ...good.message!, sid: sid(99) } },
      StoreConstraintError,
      /FOREIGN KEY/,
    ],
    [
      'an invalid log row (check constraint), the last write before the cursor',
      { ...good, log: { type: 'message', size: 1, outcome: '' } },
      StoreConstraintError,
      /CHECK constraint failed: length\(outcome\)/,
    ],
    [
      'a second current session in the room (unique index), after the first was written',
      { ...good, sessions: [...good.sessions!, session(50, 'current')] },
      StoreConstraintError,
      /UNIQUE constraint failed: sessions.room_id/,
    ],
    [
      'a misuse detected in code halfway through the sessions',
      { ...good, sessions: [...good.sessions!, { ...session(7, 'dead'), secret: bytes(32, 1) }] },
      StoreMisuseError,
      /dead but a secret/,
    ],
  ];

  it.each(failures)('rolls back everything on %s', async (_name, batch, errorClass, message) => {
    const { store, roomId } = await setup();
    const before = everything(store, roomId);
    expect(() => store.applyEvent(roomId, 2, batch)).toThrow(errorClass);
    expect(() => store.applyEvent(roomId, 2, batch)).toThrow(message);
    expect(everything(store, roomId)).toEqual(before);
    // The same event, correct this time, then applies normally.
    store.applyEvent(roomId, 2, good);
    expect(store.getRoom(roomId)?.cursorSeq).toBe(2);
  });

  it('waits busy_timeout for another writer, then fails with StoreIoError and no change', async () => {
    const path = join(tempDir(), 'p.db');
    const store = await openTestStore(path, { busyTimeoutMs: 100 });
    const roomId = store.upsertRoom({ relayUrl: 'ws://r', name: 'room', nick: 'alice' }).id;
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    expect(() => store.applyEvent(roomId, 1, fullBatch(1))).toThrow(StoreIoError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    other.exec('ROLLBACK');
    other.close();
    expect(store.getRoom(roomId)?.cursorSeq).toBe(0);
    store.applyEvent(roomId, 1, fullBatch(1));
    expect(store.getRoom(roomId)?.cursorSeq).toBe(1);
  });
});
