// Small pieces of the shell: notifications for others' messages only, settings that fall back
// to the safe defaults (embedded relay on loopback), and the browser host's key file.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ClientEvent, RoomSummary } from '../../src-shared/api';
import { DEFAULT_SETTINGS as DEFAULT_PROFILE_SETTINGS } from '../../src-main/client/settings';
import { notificationFor, titleWithUnread } from '../../src-main/ipc/notifications';
import { HIDDEN_BODY, type NotifyContext } from '../../src-shared/notifications';
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
      muted: false,
      failure: null,
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

  const ctx = (over: Partial<NotifyContext> = {}): NotifyContext => ({
    focused: false,
    viewRoomId: null,
    rooms,
    settings: { notifications: true, notificationText: true },
    ...over,
  });

  it("notifies about others' messages in rooms not in view", () => {
    expect(notificationFor(message({}), ctx())).toEqual({
      roomId: '1',
      title: 'bob in #ops',
      body: 'hello there',
    });
    // Focused on another room, or unfocused on this one: still a notification.
    expect(notificationFor(message({}), ctx({ focused: true, viewRoomId: '2' }))).not.toBeNull();
    expect(notificationFor(message({}), ctx({ focused: false, viewRoomId: '1' }))).not.toBeNull();
    // The room on screen in a focused window: none.
    expect(notificationFor(message({}), ctx({ focused: true, viewRoomId: '1' }))).toBeNull();
    expect(notificationFor(message({ own: true }), ctx())).toBeNull();
    expect(notificationFor({ type: 'rooms-changed', rooms }, ctx())).toBeNull();
  });

  it('respects muted rooms, the notifications switch and the text privacy setting', () => {
    const muted = rooms.map((r) => ({ ...r, muted: true }));
    expect(notificationFor(message({}), ctx({ rooms: muted }))).toBeNull();
    const off = { notifications: false, notificationText: true };
    expect(notificationFor(message({}), ctx({ settings: off }))).toBeNull();
    const privateText = { notifications: true, notificationText: false };
    expect(notificationFor(message({}), ctx({ settings: privateText }))).toEqual({
      roomId: '1',
      title: 'bob in #ops',
      body: HIDDEN_BODY,
    });
  });

  it('hides the text by default', () => {
    expect(DEFAULT_PROFILE_SETTINGS.notificationText).toBe(false);
    expect(DEFAULT_PROFILE_SETTINGS.notifications).toBe(true);
  });

  it('cuts long messages short', () => {
    const spec = notificationFor(message({ text: 'x'.repeat(500) }), ctx());
    expect(spec?.body.length).toBe(140);
    expect(spec?.body.endsWith('…')).toBe(true);
  });

  it('puts the unread total in the title', () => {
    expect(titleWithUnread(0)).toBe('Conclave');
    expect(titleWithUnread(3)).toBe('(3) Conclave');
    expect(titleWithUnread(5000)).toBe('(999+) Conclave');
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
