// The Electron main process, booted for real with `electron` replaced by a fake: the real client
// runtime, the real embedded relay and a headless peer on it. Checks the wiring the issue asks
// for: hardened window on the conclave:// scheme, permissions denied, validated IPC for every
// call, events forwarded, notifications while unfocused, safeStorage protecting the profile,
// single-instance lock and a clean quit.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClientEvent, Reply, RoomSummary } from '../../src-shared/api';
import { createClientRuntime, type ClientRuntime } from '../../src-main/client/runtime';
import type { Shell } from '../../src-main/index';
import { APP_URL } from '../../src-main/window-options';
import * as fake from './electron-fake';

vi.mock('electron', () => import('./electron-fake'));

let dir: string;
let shell: Shell;
let peer: ClientRuntime | null = null;

type Invoke = (event: unknown, method: unknown, arg: unknown) => Promise<Reply<unknown>>;
const invoke = (method: string, arg: unknown, url = APP_URL) =>
  (fake.state.ipcHandlers.get('conclave:call') as Invoke)({ senderFrame: { url } }, method, arg);

async function until<T>(check: () => T | undefined | null | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sentEvents = (): ClientEvent[] =>
  (fake.state.windows[0]?.webContents.sent ?? [])
    .filter((s) => s.channel === 'conclave:event')
    .map((s) => s.args[0] as ClientEvent);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-shell-'));
  fake.state.userData = join(dir, 'userData');
  mkdirSync(fake.state.userData, { recursive: true });
  // Any free port for the embedded relay, so parallel test files never collide on 7438.
  writeFileSync(join(fake.state.userData, 'settings.json'), JSON.stringify({ relay: { port: 0 } }));
  const main = await import('../../src-main/index');
  fake.state.readyResolve();
  const started = await main.shell;
  if (!started) throw new Error(`shell did not start: ${JSON.stringify(fake.state.errorBoxes)}`);
  shell = started;
}, 30_000);

afterAll(async () => {
  await peer?.close();
  await shell?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('Electron main process', () => {
  it('registers the conclave scheme as privileged before the app is ready', () => {
    expect(fake.state.privilegedSchemes).toContainEqual({
      scheme: 'conclave',
      privileges: { standard: true, secure: true, supportFetchAPI: true },
    });
  });

  it('opens one hardened window on the app scheme', () => {
    expect(fake.state.windows).toHaveLength(1);
    const win = fake.state.windows[0] as fake.FakeBrowserWindow;
    expect(win.options['webPreferences']).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    });
    expect(
      (win.options['webPreferences'] as { preload: string }).preload.endsWith(
        join('preload', 'index.cjs'),
      ),
    ).toBe(true);
    expect(win.loaded).toEqual([APP_URL]);
    expect(win.webContents.openHandler?.({ url: 'https://example.com' })).toEqual({
      action: 'deny',
    });
    const navigation = { preventDefault: vi.fn() };
    win.webContents.emit('will-navigate', navigation, 'https://example.com');
    expect(navigation.preventDefault).toHaveBeenCalled();
  });

  it('denies every permission request', () => {
    const callback = vi.fn();
    fake.state.permissionRequest?.({}, 'media', callback);
    expect(callback).toHaveBeenCalledWith(false);
    expect(fake.state.permissionCheck?.()).toBe(false);
  });

  it('serves the renderer only inside its folder, with a CSP that allows no connections', async () => {
    const handler = fake.state.protocolHandlers.get('conclave');
    expect(handler).toBeDefined();
    for (const url of ['conclave://app/../../etc/passwd', 'conclave://other/index.html']) {
      const response = await handler!({ url } as Request);
      expect(response.status, url).toBe(404);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("connect-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe');
    }
  });

  it('answers calls from the app page and refuses other senders and bad input', async () => {
    expect(await invoke('identity', null)).toEqual({ ok: true, value: null });
    expect(await invoke('identity', null, 'https://evil.example/')).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT', message: 'untrusted sender' },
    });
    expect(await invoke('joinRoom', { room: 5 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT' },
    });
    expect(await invoke('shell.openExternal', 'https://evil.example')).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT' },
    });
    expect(await invoke('defaultRelayUrl', null)).toEqual({
      ok: true,
      value: shell.relay?.localUrl,
    });
  });

  it('protects the profile key with safeStorage', async () => {
    const reply = await invoke('createIdentity', null);
    expect(reply).toMatchObject({ ok: true, value: { fingerprint: expect.any(String) } });
    expect(fake.state.sealCalls + fake.state.unsealCalls).toBeGreaterThan(0);
  });

  it('forwards events to the window and notifies about others’ messages while unfocused', async () => {
    const relayUrl = shell.relay!.localUrl;
    // bob must get in without an answer: alice founds an open room (the default is knock).
    const joined = await invoke('joinRoom', {
      relayUrl,
      room: 'ops',
      nick: 'alice',
      admission: 'open',
    });
    expect(joined.ok).toBe(true);
    const roomId = (joined as { value: RoomSummary }).value.id;
    await until(() =>
      sentEvents().some((e) => e.type === 'room-updated' && e.state.phase === 'member'),
    );

    peer = await createClientRuntime({
      dataDir: join(dir, 'bob'),
      passphrase: 'pw',
      argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 },
      defaultRelayUrl: relayUrl,
    });
    await peer.handlers.createIdentity(null);
    const bobRoom = await peer.handlers.joinRoom({ relayUrl, room: 'ops', nick: 'bob' });
    await until(() => {
      const last = sentEvents().findLast((e) => e.type === 'room-updated');
      return last?.type === 'room-updated' && last.state.current?.members.length === 2;
    });

    fake.state.focused = false;
    await invoke('viewState', { roomId, focused: false, unread: 0 });
    const bob = peer;
    await until(() => bob.room(bobRoom.id).engine.isMember);
    await peer.handlers.sendMessage({ roomId: bobRoom.id, text: 'hi from bob' });
    const note = await until(() => fake.state.notifications[0]);
    // No message text by default: the sender and the room only.
    expect(note.options).toEqual({ title: 'bob in #ops', body: 'New message' });
    expect(note.shown).toBe(true);
    await invoke('updateSettings', { notificationText: true });
    await peer.handlers.sendMessage({ roomId: bobRoom.id, text: 'with text now' });
    const second = await until(() => fake.state.notifications[1]);
    expect(second.options).toEqual({ title: 'bob in #ops', body: 'with text now' });
    expect(sentEvents()).toContainEqual(
      expect.objectContaining({
        type: 'message',
        roomId,
        message: expect.objectContaining({ from: 'bob', text: 'hi from bob', own: false }),
      }),
    );

    // The room on screen in a focused window: no notification. The unread total is the badge.
    fake.state.focused = true;
    await invoke('viewState', { roomId, focused: true, unread: 4 });
    expect(fake.state.badgeCounts.at(-1)).toBe(4);
    await peer.handlers.sendMessage({ roomId: bobRoom.id, text: 'seen in the window' });
    await until(() =>
      sentEvents().some((e) => e.type === 'message' && e.message.text === 'seen in the window'),
    );
    await invoke('sendMessage', { roomId, text: 'my own message' });
    await until(() =>
      sentEvents().some((e) => e.type === 'message' && e.message.text === 'my own message'),
    );
    expect(fake.state.notifications).toHaveLength(2);

    // Muted: nothing, even unfocused.
    fake.state.focused = false;
    await invoke('setMuted', { roomId, muted: true });
    await peer.handlers.sendMessage({ roomId: bobRoom.id, text: 'muted room' });
    await until(() =>
      sentEvents().some((e) => e.type === 'message' && e.message.text === 'muted room'),
    );
    expect(fake.state.notifications).toHaveLength(2);
    fake.state.focused = true;
  });

  it('registers the conclave: protocol handler for invite links', () => {
    expect(fake.state.protocolClients).toEqual([{ protocol: 'conclave' }]);
  });

  it('offers an invite link from a second instance for confirmation, never joining it', async () => {
    const before = (await invoke('listRooms', null)) as { value: RoomSummary[] };
    const link = 'conclave://join?v=1&relay=https%3A%2F%2Frelay.example.org&room=launch&token=t0k';
    const win = fake.state.windows[0] as fake.FakeBrowserWindow;
    const focus = win.focusCalls;
    fake.emitApp('second-instance', {}, ['/usr/bin/conclave', '--flag', link]);
    expect(win.focusCalls).toBeGreaterThan(focus);
    const offered = {
      invite: { relayUrl: 'https://relay.example.org', room: 'launch', token: 't0k' },
      error: null,
    };
    await until(() => sentEvents().some((e) => e.type === 'invite'));
    expect(sentEvents().findLast((e) => e.type === 'invite')).toEqual({
      type: 'invite',
      offer: offered,
    });
    expect(await invoke('takeInvite', null)).toEqual({ ok: true, value: offered });
    expect(await invoke('takeInvite', null)).toEqual({ ok: true, value: null });
    expect(await invoke('listRooms', null)).toEqual(before);
  });

  it('refuses a hostile link with a clear error, and ignores other arguments', async () => {
    const events = sentEvents().length;
    fake.emitApp('second-instance', {}, ['/usr/bin/conclave', 'conclave://app/index.html']);
    fake.emitApp('second-instance', {}, ['x', 'https://evil.example/?conclave://join?v=1']);
    expect(
      sentEvents()
        .slice(events)
        .some((e) => e.type === 'invite'),
    ).toBe(false);

    const open = { preventDefault: vi.fn() };
    fake.emitApp('open-url', open, 'conclave://join?v=1&relay=javascript%3Aalert(1)&room=x');
    expect(open.preventDefault).toHaveBeenCalled();
    const offer = await invoke('takeInvite', null);
    expect(offer).toEqual({
      ok: true,
      value: {
        invite: null,
        error: expect.stringMatching(/^Not a usable invite: the relay URL must start with http/),
      },
    });
  });

  it('has a menu entry that sends the debug panel shortcut to the window', () => {
    const template = fake.state.menuTemplate as { label?: string; submenu?: unknown[] }[];
    const view = template.find((m) => m.label === 'View');
    const entry = (view?.submenu as { label?: string; click?: () => void }[]).find(
      (i) => i.label === 'Debug panel',
    );
    entry?.click?.();
    expect(fake.state.windows[0]?.webContents.inputEvents).toContainEqual({
      type: 'keyDown',
      keyCode: 'D',
      modifiers: ['control', 'shift'],
    });
  });

  it('focuses the existing window when a second instance starts', () => {
    const win = fake.state.windows[0] as fake.FakeBrowserWindow;
    const before = win.focusCalls;
    fake.emitApp('second-instance');
    expect(win.focusCalls).toBe(before + 1);
  });

  it('closes the runtime and the relay before quitting', async () => {
    const quits = fake.state.quitCalls;
    const event = { preventDefault: vi.fn() };
    fake.emitApp('will-quit', event);
    expect(event.preventDefault).toHaveBeenCalled();
    await until(() => fake.state.quitCalls > quits);
    await expect(fetch(`${shell.relay!.localUrl}/healthz`)).rejects.toThrow();
  });
});

describe('a second instance', () => {
  it('quits at once when another instance holds the profile', async () => {
    vi.resetModules();
    fake.state.lockHeld = false;
    const windows = fake.state.windows.length;
    const quits = fake.state.quitCalls;
    const main = await import('../../src-main/index');
    expect(await main.shell).toBeNull();
    expect(fake.state.quitCalls).toBe(quits + 1);
    expect(fake.state.windows).toHaveLength(windows);
  });
});
