// What a team needs from the runtime, over real relays on 127.0.0.1: a token-protected relay
// (wrong token: a clear error; the right one, remembered per relay, sealed), an unreachable relay
// and a TLS failure that give up with a clear message instead of reconnecting forever (Retry and
// Remove; a failed room is gone after a restart), message states through the outbox (failed
// while the relay is down, sent after Retry, still there after a restart), membership lines and
// settings kept across a restart, invites made by the runtime.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent, RoomSummary } from '../../src-shared/api';
import { parseInvite } from '../../src-shared/invite';
import type { ClientRuntime } from '../../src-main/client/runtime';
import { createClientRuntime } from '../../src-main/client/runtime';
import type { RunningRelay } from '../../src-main/relay';
import { startRelay } from '../../src-main/relay';
import { startProxy, type RelayProxy } from '../e2e/helpers/proxy';
import { pollUntil } from './until';

let open: RunningRelay;
let team: RunningRelay;
let dir: string;
const runtimes: ClientRuntime[] = [];
const TOKEN = 'team-token-0f9e';

async function runtime(name: string, giveUpAfterMs = 1_500): Promise<ClientRuntime> {
  const rt = await createClientRuntime({
    dataDir: join(dir, name),
    passphrase: 'pw',
    argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 },
    defaultRelayUrl: open.url,
    engine: { limboTimeoutMs: 3_000, joinRetryMs: 2_000 },
    // Rooms these tests found admit everyone (docs/PROTOCOL.md "Admission policy").
    admission: 'open',
    giveUpAfterMs,
    verifyThreads: 0,
  });
  runtimes.push(rt);
  return rt;
}

async function restart(rt: ClientRuntime, name: string): Promise<ClientRuntime> {
  await rt.close();
  return runtime(name);
}

function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  return pollUntil(check, ms, 50);
}

const member = (rt: ClientRuntime, id: string) =>
  until(async () => (await rt.handlers.roomState({ roomId: id })).phase === 'member');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-team-'));
  open = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 20_000 });
  team = await startRelay({ host: '127.0.0.1', port: 0, token: TOKEN });
});

afterAll(async () => {
  for (const rt of runtimes) await rt.close().catch(() => {});
  await open.close();
  await team.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('team relays', () => {
  it('refuses a wrong token clearly, joins with the right one and remembers it sealed', async () => {
    const rt = await runtime('tok');
    await rt.handlers.createIdentity(null);
    const failed = await rt.handlers.joinRoom({
      relayUrl: team.url,
      room: 'ops',
      nick: 'ann',
      token: 'wrong-token',
    });
    const state = await until(async () => {
      const s = await rt.handlers.roomState({ roomId: failed.id });
      return s.failure ? s : false;
    });
    expect(state.failure).toEqual({
      kind: 'auth',
      message: expect.stringMatching(/refused the access token: it is wrong/),
    });
    expect(state.connection).toBe('offline');
    expect(state.cannotSend).toMatch(/cannot reach its relay/);
    const listed = (await rt.handlers.listRooms(null)).find((r) => r.id === failed.id);
    expect(listed?.failure?.kind).toBe('auth');

    // The right token, given in the join form again, is stored and used by the retry.
    await rt.handlers.joinRoom({ relayUrl: team.url, room: 'ops', nick: 'ann', token: TOKEN });
    await member(rt, failed.id);
    expect((await rt.handlers.roomState({ roomId: failed.id })).failure).toBeNull();
    expect(await rt.handlers.listRelays(null)).toContainEqual({
      url: team.url,
      hasToken: true,
      builtIn: false,
      isDefault: false,
    });
    // The database holds the token sealed, never in clear.
    const db = readFileSync(rt.databasePath);
    const wal = existsSync(`${rt.databasePath}-wal`)
      ? readFileSync(`${rt.databasePath}-wal`)
      : Buffer.alloc(0);
    expect(Buffer.concat([db, wal]).includes(TOKEN)).toBe(false);

    // An invite for the room carries the relay, the room and the token, and no keys.
    const invite = await rt.handlers.createInvite({ roomId: failed.id });
    expect(invite.hasToken).toBe(true);
    expect(parseInvite(invite.text)).toEqual({
      ok: true,
      invite: { version: 1, relayUrl: team.url, room: 'ops', token: TOKEN },
    });
  });

  it('gives up on an unreachable relay with a clear error, and forgets the room at restart', async () => {
    let rt = await runtime('unreachable');
    await rt.handlers.createIdentity(null);
    const events: ClientEvent[] = [];
    rt.subscribe((e) => events.push(e));
    const room = await rt.handlers.joinRoom({
      relayUrl: 'http://127.0.0.1:1',
      room: 'x',
      nick: 'ann',
    });
    const state = await until(async () => {
      const s = await rt.handlers.roomState({ roomId: room.id });
      return s.failure ? s : false;
    }, 10_000);
    expect(state.failure).toEqual({
      kind: 'unreachable',
      message: expect.stringMatching(
        /^Cannot reach the relay at 127\.0\.0\.1:1 \(connection refused; tried for 2 s\)/,
      ),
    });
    expect(
      events.some(
        (e) =>
          e.type === 'rooms-changed' &&
          e.rooms.some((r: RoomSummary) => r.failure?.kind === 'unreachable'),
      ),
    ).toBe(true);
    // Retry tries again (and fails again the same way); the room stays until removed.
    await rt.handlers.retryRoom({ roomId: room.id });
    expect((await rt.handlers.roomState({ roomId: room.id })).failure).toBeNull();
    await until(async () => (await rt.handlers.roomState({ roomId: room.id })).failure, 10_000);

    rt = await restart(rt, 'unreachable');
    expect(await rt.handlers.listRooms(null)).toEqual([]);
  });

  it('removes a failed room at once with Remove', async () => {
    const rt = await runtime('remove');
    await rt.handlers.createIdentity(null);
    const room = await rt.handlers.joinRoom({
      relayUrl: 'http://127.0.0.1:1',
      room: 'y',
      nick: 'ann',
    });
    await rt.handlers.removeRoom({ roomId: room.id });
    expect(await rt.handlers.listRooms(null)).toEqual([]);
  });

  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(hasOpenssl)('reports a refused TLS certificate at once', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    const server: Server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const rt = await runtime('tls', 60_000);
      await rt.handlers.createIdentity(null);
      const room = await rt.handlers.joinRoom({
        relayUrl: `https://127.0.0.1:${port}`,
        room: 'z',
        nick: 'ann',
      });
      const failure = await until(
        async () => (await rt.handlers.roomState({ roomId: room.id })).failure,
        10_000,
      );
      expect(failure).toEqual({
        kind: 'tls',
        message: expect.stringMatching(
          /secure connection to the relay .* failed: self-signed certificate/,
        ),
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});

describe('message states', () => {
  let proxy: RelayProxy;
  beforeAll(async () => {
    proxy = await startProxy(open.url);
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('fails while the relay is down, is sent after Retry, and survives a restart unsent', async () => {
    let rt = await runtime('outbox');
    await rt.handlers.createIdentity(null);
    const room = await rt.handlers.joinRoom({ relayUrl: proxy.url, room: 'states', nick: 'ann' });
    await member(rt, room.id);

    const sent = await rt.handlers.sendMessage({ roomId: room.id, text: 'goes out' });
    expect(sent.state).toBe('sending');
    await until(async () => (await rt.handlers.outbox({ roomId: room.id })).length === 0);
    expect((await rt.handlers.history({ roomId: room.id })).map((m) => m.text)).toEqual([
      'goes out',
    ]);

    await proxy.down();
    await until(
      async () => (await rt.handlers.roomState({ roomId: room.id })).connection !== 'connected',
    );
    const pending = await rt.handlers.sendMessage({ roomId: room.id, text: 'while down' });
    expect(pending).toMatchObject({ state: 'failed', error: 'not connected to the relay' });

    await proxy.up();
    await until(
      async () => (await rt.handlers.roomState({ roomId: room.id })).connection === 'connected',
    );
    await rt.handlers.retryMessage({ roomId: room.id, id: pending.id });
    await until(async () => (await rt.handlers.outbox({ roomId: room.id })).length === 0);
    expect((await rt.handlers.history({ roomId: room.id })).map((m) => m.text)).toEqual([
      'goes out',
      'while down',
    ]);

    // Unsent at a restart: still there, failed, and Retry sends it.
    await proxy.down();
    await until(
      async () => (await rt.handlers.roomState({ roomId: room.id })).connection !== 'connected',
    );
    const kept = await rt.handlers.sendMessage({ roomId: room.id, text: 'kept across a restart' });
    rt = await restart(rt, 'outbox');
    expect(await rt.handlers.outbox({ roomId: room.id })).toEqual([
      expect.objectContaining({ id: kept.id, text: 'kept across a restart', state: 'failed' }),
    ]);
    await proxy.up();
    await member(rt, room.id);
    await until(
      async () => (await rt.handlers.roomState({ roomId: room.id })).connection === 'connected',
    );
    await rt.handlers.retryMessage({ roomId: room.id, id: kept.id });
    await until(async () => (await rt.handlers.outbox({ roomId: room.id })).length === 0);
    expect((await rt.handlers.history({ roomId: room.id })).map((m) => m.text)).toContain(
      'kept across a restart',
    );

    // Membership lines are in the history after the restart too.
    const notices = await rt.handlers.notices({ roomId: room.id });
    expect(notices.some((n) => n.kind === 'joined' && n.text === 'you joined the room')).toBe(true);
  });

  it('keeps settings across a restart and refuses bad values', async () => {
    let rt = await runtime('settings');
    expect(await rt.handlers.getSettings(null)).toEqual({
      theme: 'system',
      notifications: true,
      notificationText: false,
      rekeyIntervalHours: 168,
      defaultRelayUrl: null,
    });
    await rt.handlers.updateSettings({
      theme: 'dark',
      rekeyIntervalHours: 24,
      defaultRelayUrl: team.url,
    });
    rt = await restart(rt, 'settings');
    expect(await rt.handlers.getSettings(null)).toMatchObject({
      theme: 'dark',
      rekeyIntervalHours: 24,
    });
    expect(await rt.handlers.defaultRelayUrl(null)).toBe(team.url);
    await expect(rt.handlers.updateSettings({ rekeyIntervalHours: 5 })).rejects.toThrow();
  });
});
