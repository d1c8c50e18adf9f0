// Migration 5's tables through the Store: relays with sealed tokens, settings, the outbox (sealed
// bodies, failed after a restart) and the timeline's notices (bounded, kept across a reopen).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NOTICES_PER_ROOM } from '../../src-main/store/notices';
import { StoreConstraintError, StoreMisuseError } from '../../src-main/store';
import { openTestStore, tempDir } from './helpers';

describe('relays', () => {
  it('remembers relays, keeps, replaces and removes their tokens', async () => {
    const path = join(tempDir(), 'p.db');
    const store = await openTestStore(path);
    store.saveRelay('https://team.example', 'tok-1');
    store.saveRelay('http://127.0.0.1:7438');
    expect(store.listRelays().map((r) => [r.url, r.hasToken])).toEqual([
      ['https://team.example', true],
      ['http://127.0.0.1:7438', false],
    ]);
    store.saveRelay('https://team.example'); // undefined keeps the token
    expect(store.getRelayToken('https://team.example')).toBe('tok-1');
    store.saveRelay('https://team.example', 'tok-2');
    expect(store.getRelayToken('https://team.example')).toBe('tok-2');
    store.saveRelay('https://team.example', null);
    expect(store.getRelayToken('https://team.example')).toBeNull();
    expect(store.deleteRelay('https://team.example')).toBe(true);
    expect(store.deleteRelay('https://team.example')).toBe(false);
    expect(() => store.saveRelay('https://x', '')).toThrow(StoreMisuseError);
    store.close();
  });
});

describe('settings', () => {
  it('stores JSON values per key across a reopen', async () => {
    const path = join(tempDir(), 'p.db');
    let store = await openTestStore(path);
    store.setSettings({ theme: 'dark', notifications: { enabled: true } });
    store.setSettings({ theme: 'light' });
    store.close();
    store = await openTestStore(path);
    expect(store.getSettings()).toEqual({ theme: 'light', notifications: { enabled: true } });
    store.close();
  });
});

describe('outbox', () => {
  it('keeps unsent messages across a reopen, failed, until sent or discarded', async () => {
    const path = join(tempDir(), 'p.db');
    let store = await openTestStore(path);
    const room = store.upsertRoom({ relayUrl: 'ws://r', name: 'ops', nick: 'ann' }).id;
    store.addOutbox(room, 'a1', 'first');
    store.addOutbox(room, 'a2', 'second');
    expect(store.setOutboxState(room, 'a2', 'failed', 'not connected')).toBe(true);
    expect(() => store.addOutbox(room, 'a1', 'again')).toThrow(StoreConstraintError);
    expect(() => store.addOutbox(room, 'bad id!', 'x')).toThrow(StoreMisuseError);
    store.close();

    store = await openTestStore(path);
    expect(store.failPendingOutbox('the app stopped before the relay answered')).toBe(1);
    expect(store.listOutbox(room).map((m) => [m.id, m.body, m.state, m.error])).toEqual([
      ['a1', 'first', 'failed', 'the app stopped before the relay answered'],
      ['a2', 'second', 'failed', 'not connected'],
    ]);
    expect(store.removeOutbox(room, 'a1')).toBe(true);
    expect(store.removeOutbox(room, 'a1')).toBe(false);
    expect(store.setOutboxState(room, 'a1', 'sending', null)).toBe(false);
    store.deleteRoom(room);
    store.close();
  });
});

describe('notices', () => {
  it('keeps membership lines across a reopen and bounds them per room', async () => {
    const path = join(tempDir(), 'p.db');
    let store = await openTestStore(path);
    const room = store.upsertRoom({ relayUrl: 'ws://r', name: 'ops', nick: 'ann' }).id;
    store.addNotice(room, { seq: 3, kind: 'joined', nick: 'bob', text: 'bob joined', at: 5 });
    store.close();
    store = await openTestStore(path);
    expect(store.getNotices(room, 10)).toEqual([
      { roomId: room, epoch: 1, seq: 3, kind: 'joined', nick: 'bob', text: 'bob joined', at: 5 },
    ]);
    for (let i = 0; i < NOTICES_PER_ROOM + 100; i++) {
      store.addNotice(room, { seq: i, kind: 'left', nick: 'bob', text: `n${i}`, at: i });
    }
    const kept = store.getNotices(room, 10_000);
    expect(kept.length).toBeLessThanOrEqual(NOTICES_PER_ROOM + 64);
    expect(kept.at(-1)?.text).toBe(`n${NOTICES_PER_ROOM + 99}`);
    store.close();
  });
});

describe('muted rooms', () => {
  it('mutes and unmutes a room', async () => {
    const store = await openTestStore(join(tempDir(), 'p.db'));
    const room = store.upsertRoom({ relayUrl: 'ws://r', name: 'ops', nick: 'ann' }).id;
    expect(store.getRoom(room)?.muted).toBe(false);
    store.setMuted(room, true);
    expect(store.getRoom(room)?.muted).toBe(true);
    store.close();
  });
});
