// Small pieces of the shell: notifications for others' messages only, settings that fall back
// to the safe defaults (embedded relay on loopback), and the browser host's key file.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ClientEvent, RoomSummary } from '../../src-shared/api';
import { notificationFor } from '../../src-main/ipc/notifications';
import {
  DEFAULT_SETTINGS,
  loadShellSettings,
  parseShellSettings,
} from '../../src-main/ipc/settings';
import { keyFileStorage } from '../../src-main/web/key-file';

const dir = mkdtempSync(join(tmpdir(), 'conclave-helpers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('notifications', () => {
  const rooms: RoomSummary[] = [
    {
      id: '1',
      relayUrl: 'http://r',
      room: 'ops',
      nick: 'alice',
      connection: 'connected',
      phase: 'member',
      members: [],
      unread: 0,
    },
  ];
  const message = (over: Partial<ChatMessage>): ClientEvent => ({
    type: 'message',
    roomId: '1',
    message: {
      seq: 1,
      sid: 's',
      from: 'bob',
      fingerprint: 'f',
      text: 'hello\n  there',
      at: 0,
      transcript: 'ok',
      own: false,
      ...over,
    },
  });

  it("notifies about others' messages only while unfocused", () => {
    expect(notificationFor(message({}), false, rooms)).toEqual({
      roomId: '1',
      title: 'bob in #ops',
      body: 'hello there',
    });
    expect(notificationFor(message({}), true, rooms)).toBeNull();
    expect(notificationFor(message({ own: true }), false, rooms)).toBeNull();
    expect(notificationFor({ type: 'rooms-changed', rooms }, false, rooms)).toBeNull();
  });

  it('cuts long messages short', () => {
    const spec = notificationFor(message({ text: 'x'.repeat(500) }), false, rooms);
    expect(spec?.body.length).toBe(140);
    expect(spec?.body.endsWith('…')).toBe(true);
  });
});

describe('shell settings', () => {
  it('defaults to an embedded relay on loopback only', () => {
    expect(DEFAULT_SETTINGS).toEqual({ relay: { embedded: true, exposeOnLan: false, port: 7438 } });
    expect(loadShellSettings(join(dir, 'missing.json'))).toEqual(DEFAULT_SETTINGS);
  });

  it('reads explicit choices and ignores malformed files', () => {
    expect(parseShellSettings({ relay: { exposeOnLan: true, port: 9000 } })).toEqual({
      relay: { embedded: true, exposeOnLan: true, port: 9000 },
    });
    expect(parseShellSettings({ relay: { exposeOnLan: 'yes' } })).toEqual(DEFAULT_SETTINGS);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(loadShellSettings(bad)).toEqual(DEFAULT_SETTINGS);
  });
});

describe('browser host key file', () => {
  it('round-trips, authenticates, and keeps the key file private', () => {
    const file = join(dir, 'web-host.key');
    const storage = keyFileStorage(file);
    const sealed = storage.encryptString('profile key');
    expect(sealed.toString('utf8')).not.toContain('profile key');
    expect(keyFileStorage(file).decryptString(sealed)).toBe('profile key');
    expect(statSync(file).mode & 0o077).toBe(0);
    const tampered = Buffer.from(sealed);
    tampered.writeUInt8((tampered.at(-1) ?? 0) ^ 1, tampered.length - 1);
    expect(() => storage.decryptString(tampered)).toThrow();
  });
});
