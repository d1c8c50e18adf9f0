// The browser host in-process: static serving confined to the renderer folder with strict
// headers, the loopback bridge guarded by token, Origin and Host, and the same validated API as
// Electron's IPC, with events pushed to every connected page.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientEvent } from '../../src-shared/api';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { startWebHost, type WebHost } from '../../src-main/web/host';
import type { BridgeServerMessage } from '../../src-shared/bridge-wire';

let dir: string;
let relay: RunningRelay;
let host: WebHost;

function get(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

interface Client {
  ws: WebSocket;
  events: ClientEvent[];
  call(method: string, arg: unknown): Promise<unknown>;
}

function connect(
  opts: { token?: string; origin?: string; host?: string; path?: string } = {},
): Promise<Client> {
  const origin = opts.origin ?? `http://127.0.0.1:${host.port}`;
  const token = opts.token ?? host.token;
  const path = opts.path ?? '/bridge';
  const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}?token=${token}`, {
    headers: { origin, ...(opts.host ? { host: opts.host } : {}) },
  });
  const events: ClientEvent[] = [];
  const waiting = new Map<number, (reply: unknown) => void>();
  let id = 0;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as BridgeServerMessage;
    if (message.t === 'event') events.push(message.event);
    else waiting.get(message.id)?.(message.reply);
  });
  return new Promise((done, fail) => {
    ws.once('open', () =>
      done({
        ws,
        events,
        call: (method, arg) =>
          new Promise((reply) => {
            id += 1;
            waiting.set(id, reply);
            ws.send(JSON.stringify({ t: 'call', id, method, arg }));
          }),
      }),
    );
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', fail);
  });
}

async function until<T>(check: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-webhost-'));
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(renderer, '.secret'), 'hidden');
  writeFileSync(join(dir, 'outside.txt'), 'outside');
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  host = await startWebHost({
    dataDir: join(dir, 'profile'),
    rendererDir: renderer,
    relayUrl: relay.url,
    passphrase: 'pw',
    runtime: { argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 } },
  });
});

afterAll(async () => {
  await host?.close();
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('browser host: page', () => {
  it('prints a loopback URL with a 256-bit token in the fragment', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
    expect(host.relayUrl).toBe(relay.url);
  });

  it('serves the renderer with a strict CSP that only allows its own bridge socket', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain(`connect-src ws://127.0.0.1:${host.port}`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const js = await get('/assets/app.js');
    expect(js.headers['content-type']).toContain('text/javascript');
  });

  it('serves nothing outside the renderer folder, and no hidden files', async () => {
    for (const path of [
      '/../outside.txt',
      '/%2e%2e/outside.txt',
      '/assets/%2e%2e/%2e%2e/outside.txt',
      '/.secret',
      '/assets/..%5c..%5coutside.txt',
      '/%00',
      '/missing.js',
      '/assets',
    ]) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('refuses other Host names (DNS rebinding) and methods other than GET and HEAD', async () => {
    expect((await get('/', { host: 'evil.example' })).status).toBe(403);
    expect((await get('/', { host: `localhost:${host.port}` })).status).toBe(403);
    expect((await get('/', {}, 'POST')).status).toBe(405);
    expect((await get('/', {}, 'HEAD')).status).toBe(200);
  });
});

describe('browser host: bridge', () => {
  it('refuses sockets without the token, from other origins, hosts or paths', async () => {
    await expect(connect({ token: '' })).rejects.toThrow('HTTP 401');
    await expect(connect({ token: 'x'.repeat(43) })).rejects.toThrow('HTTP 401');
    await expect(connect({ origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect({ origin: `http://localhost:${host.port}` })).rejects.toThrow('HTTP 403');
    await expect(connect({ host: `evil.example:${host.port}` })).rejects.toThrow('HTTP 403');
    await expect(connect({ path: '/other' })).rejects.toThrow('HTTP 404');
  });

  it('answers calls through the validating dispatcher', async () => {
    const client = await connect();
    expect(await client.call('identity', null)).toEqual({ ok: true, value: null });
    expect(await client.call('defaultRelayUrl', null)).toEqual({ ok: true, value: relay.url });
    expect(
      await client.call('joinRoom', { relayUrl: 'file:///x', room: 'r', nick: 'n' }),
    ).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await client.call('__proto__', null)).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT', message: 'unknown method' },
    });
    expect(await client.call('roomState', { roomId: '999' })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_ROOM' },
    });
    client.ws.close();
  });

  it('closes the socket on a malformed frame', async () => {
    for (const frame of ['not json', '{"t":"call","id":-1,"method":"identity","arg":null}', '[]']) {
      const client = await connect();
      const closed = new Promise<number>((r) => client.ws.once('close', (code) => r(code)));
      client.ws.send(frame);
      expect(await closed).toBe(1003);
    }
  });

  it('pushes client events to every connected page', async () => {
    const a = await connect();
    const b = await connect();
    const identity = await a.call('createIdentity', null);
    expect(identity).toMatchObject({ ok: true });
    const joined = (await a.call('joinRoom', {
      relayUrl: relay.url,
      room: 'bridge-test',
      nick: 'tess',
    })) as { ok: true; value: { id: string } };
    expect(joined.ok).toBe(true);
    for (const client of [a, b]) {
      await until(() =>
        client.events.some(
          (e) =>
            e.type === 'room-updated' && e.roomId === joined.value.id && e.state.phase === 'member',
        ),
      );
      expect(client.events.some((e) => e.type === 'rooms-changed')).toBe(true);
    }
    a.ws.close();
    b.ws.close();
  });
});

describe('invites handed to the host (--invite)', () => {
  it('offers a valid link to the page for confirmation and joins nothing', async () => {
    const page = await connect();
    const before = await page.call('listRooms', null);
    const offer = host.runtime.offerInvite(
      'Join #ops on Conclave: conclave://join?v=1&relay=http%3A%2F%2F127.0.0.1%3A7438&room=ops',
    );
    expect(offer).toEqual({
      invite: { relayUrl: 'http://127.0.0.1:7438', room: 'ops', token: null },
      error: null,
    });
    await until(() => page.events.some((e) => e.type === 'invite'));
    expect(await page.call('takeInvite', null)).toEqual({ ok: true, value: offer });
    expect(await page.call('takeInvite', null)).toEqual({ ok: true, value: null });
    expect(await page.call('listRooms', null)).toEqual(before);
    page.ws.close();
  });

  it('refuses a hostile link with a clear error', () => {
    const offer = host.runtime.offerInvite('conclave://join?v=1&relay=file%3A%2F%2F%2Fx&room=x');
    expect(offer).toEqual({
      invite: null,
      error: expect.stringMatching(/^Not a usable invite: the relay URL must start with/),
    });
  });
});

describe('web host CLI', () => {
  const cli = resolve('src-main/web/cli.ts');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('prints usage with --help and refuses bad flags', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('npm run web -- [options]');
    expect(help.stdout).toContain('--invite LINK');
    const badPort = run('--port', 'nope');
    expect(badPort.status).toBe(2);
    expect(badPort.stderr).toContain('--port');
    const unknown = run('--bogus');
    expect(unknown.status).toBe(2);
  });
});
