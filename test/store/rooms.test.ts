// Identity and rooms: round trips, leaving and rejoining (epochs), closing and reopening.

import { describe, expect, it } from 'vitest';
import { StoreMisuseError, type RoomId } from '../../src-main/store';
import { bytes, chat, currentSession, log, openTestStore, sid, storeWithRoom } from './helpers';

describe('identity', () => {
  it('stores one identity and returns the secret key only on request', async () => {
    const { store } = await storeWithRoom();
    expect(store.getIdentity()).toBeNull();
    expect(store.getIdentitySecretKey()).toBeNull();
    const created = store.createIdentity(bytes(32, 1), bytes(64, 2));
    expect(store.getIdentity()).toEqual(created);
    expect(store.getIdentitySecretKey()).toEqual(bytes(64, 2));
    expect(() => store.createIdentity(bytes(32, 3), bytes(64, 4))).toThrow(StoreMisuseError);
  });
});

describe('rooms', () => {
  it('creates, finds, lists, updates and deletes rooms', async () => {
    const { store, roomId } = await storeWithRoom();
    const room = store.getRoom(roomId);
    expect(room).toMatchObject({
      relayUrl: 'ws://relay',
      name: 'ops',
      nick: 'alice',
      state: 'joined',
      epoch: 1,
      cursorSeq: 0,
      hasResumeToken: false,
    });
    expect(store.findRoom('ws://relay', 'ops')).toEqual(room);
    expect(store.findRoom('ws://other', 'ops')).toBeNull();

    const renamed = store.upsertRoom({ relayUrl: 'ws://relay', name: 'ops', nick: 'alice2' });
    expect(renamed.id).toBe(roomId);
    expect(renamed.nick).toBe('alice2');
    const second = store.upsertRoom({ relayUrl: 'ws://relay', name: 'dev', nick: 'a' });
    expect(store.listRooms().map((r) => r.name)).toEqual(['ops', 'dev']);

    expect(store.leaveRoom(roomId, 'left by the user')).toMatchObject({ state: 'left', epoch: 2 });
    expect(store.upsertRoom({ relayUrl: 'ws://relay', name: 'ops', nick: 'alice3' })).toMatchObject(
      { id: roomId, state: 'joined', nick: 'alice3', epoch: 2 },
    );

    store.setResumeToken(roomId, 'token-123');
    expect(store.getRoom(roomId)?.hasResumeToken).toBe(true);
    expect(store.getResumeToken(roomId)).toBe('token-123');
    store.setResumeToken(roomId, null);
    expect(store.getResumeToken(roomId)).toBeNull();
    expect(store.getRoom(second.id)?.cursorSeq).toBe(0);
  });

  it('rejects operations on a missing room', async () => {
    const { store } = await storeWithRoom();
    const missing = 999 as RoomId;
    expect(store.getRoom(missing)).toBeNull();
    expect(() => store.leaveRoom(missing, 'x')).toThrow(StoreMisuseError);
    expect(() => store.setResumeToken(missing, 'x')).toThrow(StoreMisuseError);
    expect(() => store.getResumeToken(missing)).toThrow(StoreMisuseError);
    expect(() => store.applyEvent(missing, 1, { log: log() })).toThrow(StoreMisuseError);
  });

  it('deleting a room removes everything stored for it', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    chat(store, roomId, 2, 'hi');
    store.deleteRoom(roomId);
    expect(store.getRoom(roomId)).toBeNull();
    expect(store.listSessions(roomId)).toEqual([]);
    expect(store.getMessages(roomId, { limit: 10 })).toEqual([]);
    expect(store.eventLog(roomId, 10)).toEqual([]);
  });
});

describe('leaving and rejoining', () => {
  it('kills live sessions, drops snapshot and token, and starts a new epoch', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    chat(store, roomId, 2, 'before');
    store.applyEvent(roomId, 3, { log: log(), snapshot: bytes(10, 1) });
    store.setResumeToken(roomId, 'tok');

    const room = store.rejoinRoom(roomId, 'GAP_UNAVAILABLE');
    expect(room).toMatchObject({ epoch: 2, cursorSeq: 0, hasResumeToken: false });
    expect(store.listSessions(roomId)).toMatchObject([
      { sid: sid(1), status: 'dead', reason: 'GAP_UNAVAILABLE', hasSecret: false },
    ]);
    expect(store.getSessionHistory(roomId, sid(1))).toMatchObject([
      { status: 'dead', reason: 'GAP_UNAVAILABLE', seq: null },
    ]);
    expect(store.latestSnapshot(roomId)).toBeNull();
    expect(store.getMessages(roomId, { limit: 10 }).map((m) => m.body)).toEqual(['before']);
    // The new log may number from 1 again.
    store.applyEvent(roomId, 1, { log: log() });
    expect(store.getRoom(roomId)?.cursorSeq).toBe(1);
  });

  it('leaveRoom ends the membership the same way and marks the room left', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    store.applyEvent(roomId, 2, { log: log(), snapshot: bytes(10, 1) });
    expect(store.leaveRoom(roomId, 'left by the user')).toMatchObject({
      state: 'left',
      epoch: 2,
      cursorSeq: 0,
    });
    expect(store.getSessionSecret(roomId, sid(1))).toBeNull();
    expect(store.latestSnapshot(roomId)).toBeNull();
  });
});

describe('lifecycle', () => {
  it('refuses use after close', async () => {
    const { store } = await storeWithRoom();
    store.close();
    store.close();
    expect(store.isOpen).toBe(false);
    expect(() => store.listRooms()).toThrow(StoreMisuseError);
  });

  it('keeps everything across close and reopen', async () => {
    const { store, roomId, path } = await storeWithRoom();
    currentSession(store, roomId, 1);
    chat(store, roomId, 2, 'persisted');
    store.close();
    const again = await openTestStore(path);
    expect(again.getRoom(roomId)?.cursorSeq).toBe(2);
    expect(again.getMessages(roomId, { limit: 1 })[0]?.body).toBe('persisted');
    expect(again.getSessionSecret(roomId, sid(1))).toEqual(bytes(32, 7));
  });
});
