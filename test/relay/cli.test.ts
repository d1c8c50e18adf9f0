// The standalone relay as a team would run it: `tsx src-main/relay/cli.ts` (what `npm run relay`
// runs), its one stdout line, /healthz, /metrics, a client round trip, and a clean SIGTERM.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, ok } from './helpers';

const root = resolve(import.meta.dirname, '../..');
const tsx = resolve(root, 'node_modules/tsx/dist/cli.mjs');
let child: ChildProcessWithoutNullStreams | undefined;
let client: TestClient | undefined;

afterEach(() => {
  client?.close();
  client = undefined;
  // tsx runs the relay in a child of its own: kill the whole group this test started.
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  child = undefined;
});

function run(args: string[]): {
  proc: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const proc = spawn(process.execPath, [tsx, 'src-main/relay/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, CONCLAVE_RELAY_TOKEN: '' },
    detached: true,
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('relay CLI', () => {
  it('prints its line, serves /healthz and /metrics, relays, and exits 0 on SIGTERM', async () => {
    const cli = run(['--port', '0', '--token', 'T', '--log-level', 'info']);
    const line = await waitFor(
      () => /^relay listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(cli.stdout())?.[1],
      15_000,
      'the listening line',
    );
    const url = line;
    expect(cli.stdout()).toBe(`relay listening on ${url}\n`);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('application/json');
    expect(await health.json()).toMatchObject({ status: 'ok', log: 'memory' });

    client = await TestClient.connect(url);
    expect(await client.join({ room: 'r', nick: 'a' })).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    ok(await client.join({ room: 'r', nick: 'a', token: 'T' }));
    ok(await client.send('r', 'hello'));

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('conclave_relay_connections 1');
    expect(metrics).toContain('conclave_relay_rooms 1');
    expect(metrics).toContain('conclave_relay_events_in_total{type="send"} 1');
    expect(metrics).toContain('conclave_relay_rejections_total{code="UNAUTHORIZED"} 1');
    expect(metrics).toContain('process_cpu_seconds_total');

    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    // Logs are structured JSON lines on stderr; stdout carried only the one line.
    const logs = cli
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['relay listening', 'shutting down', 'relay closed']),
    );
    expect(cli.stdout()).toBe(`relay listening on ${url}\n`);
  });

  it('rejects an unknown flag with usage and exit code 2', async () => {
    const cli = run(['--bogus']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain('usage: npm run relay');
  });
});
