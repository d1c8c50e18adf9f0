// Keeps `npm run bench` working: every suite runs once with tiny parameters and its JSON report
// has the documented shape with positive numbers. Benchmarks are not tests: nothing here
// asserts a timing.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runBench, UsageError } from '../../bench/index';
import { WireClient } from '../../bench/relay-wire-client';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';

const dir = mkdtempSync(join(tmpdir(), 'conclave-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;

async function run(args: string[]): Promise<{ report: Json; markdown: string; file: Json }> {
  const file = join(dir, `${args[0]}-${Math.random().toString(36).slice(2)}.json`);
  const { report, markdown } = await runBench([...args, '--quiet', '--json', file]);
  const written = JSON.parse(readFileSync(file, 'utf8')) as Json;
  expect(Object.keys(written).sort()).toEqual(['machine', 'params', 'results', 'suite', 'summary']);
  expect(written['suite']).toBe(args[0]);
  const machine = written['machine'] as Json;
  expect(machine['cores']).toBeGreaterThan(0);
  expect(typeof machine['node']).toBe('string');
  expect(markdown).toMatch(/^## /);
  expect(markdown).toContain('|---|');
  return { report: report as unknown as Json, markdown, file: written };
}

/** `bench concurrent` on one small cell: k = 2 joiners into a room of 3, with `extra` options. */
function concurrentCell(...extra: string[]): ReturnType<typeof run> {
  return run(['concurrent', '--n', '3', '--k', '2', ...extra]);
}

function positive(obj: Json, keys: string[]): void {
  for (const key of keys) {
    expect(obj[key], key).toBeTypeOf('number');
    expect(obj[key] as number, key).toBeGreaterThan(0);
  }
}

describe('npm run bench (smoke)', () => {
  it('join --max 4 --compare mls --plot', async () => {
    const plots = join(dir, 'plots');
    const { file } = await run([
      'join',
      '--max',
      '4',
      '--compare',
      'mls',
      '--relay-in-process',
      '--plot',
      '--plot-dir',
      plots,
    ]);
    const summary = file['summary'] as Json;
    positive(summary, [
      'totalSeconds',
      'lastJoinSeconds',
      'cpuPerMemberMs',
      'mlsTotalSeconds',
      'mlsLastAddSeconds',
      'mlsOverConclaveTotal',
      'lastMessages',
      'lastBytes',
    ]);
    expect(summary['members']).toBe(4);
    const results = file['results'] as { conclave: Json[]; mls: Json[] };
    expect(results.conclave.map((r) => r['n'])).toEqual([1, 2, 3, 4]);
    expect(results.mls.map((r) => r['n'])).toEqual([1, 2, 3, 4]);
    for (const r of results.conclave.slice(1)) {
      positive(r, ['seconds', 'cpuMs', 'cpuPerMemberMs', 'messages', 'bytes', 'verifyPerMember']);
    }
    for (const chart of ['join-time.svg', 'join-total.svg', 'join-cpu.svg']) {
      const svg = readFileSync(join(plots, chart), 'utf8');
      expect(svg).toMatch(/^<svg /);
      expect(svg).toContain('<polyline');
    }
  });

  it('join over the in-memory transport', async () => {
    const { file } = await run(['join', '--max', '3', '--transport', 'local']);
    positive(file['summary'] as Json, ['totalSeconds', 'lastJoinSeconds', 'cpuPerMemberMs']);
  });

  it('join with signatures verified ahead on a thread does the same work as inline', async () => {
    const build = async (threads: number) => {
      const { file, markdown } = await run([
        'join',
        '--max',
        '5',
        '--relay-in-process',
        '--verify-threads',
        String(threads),
      ]);
      expect((file['params'] as Json)['verifyThreads']).toBe(threads);
      return {
        summary: file['summary'] as Json,
        markdown,
        records: (file['results'] as Json)['conclave'] as Json[],
      };
    };
    const pooled = await build(1);
    const inline = await build(0);
    expect(pooled.markdown).toContain('1 verify thread');
    expect(inline.markdown).toContain('signatures verified inline');
    // The same frames, the same number of signature checks per member (9 for the 5th join:
    // 2n + 1 frames less the member's own two), whoever ran them.
    for (const { records } of [pooled, inline]) {
      expect(records.map((r) => r['verifyPerMember'])).toEqual([0, 3, 5, 7, 9]);
      expect(records.map((r) => r['messages'])).toEqual([1, 5, 7, 9, 11]);
    }
    expect(pooled.summary['totalVerifyOffThread'] as number).toBeGreaterThan(0);
    expect(pooled.summary['totalOffThreadSeconds'] as number).toBeGreaterThan(0);
    expect(inline.summary['totalVerifyOffThread']).toBe(0);
    expect(inline.summary['totalOffThreadSeconds']).toBe(0);
  });

  it('join with the clients spread over 2 worker processes', async () => {
    const { file, markdown } = await run(['join', '--max', '5', '--workers', '2']);
    expect((file['params'] as Json)['workers']).toBe(2);
    expect(markdown).toContain('clients over 2 worker processes');
    const summary = file['summary'] as Json;
    expect(summary['members']).toBe(5);
    positive(summary, ['totalSeconds', 'cpuPerMemberMs', 'totalProcessCpuSeconds']);
    const records = (file['results'] as Json)['conclave'] as Json[];
    expect(records.map((r) => r['n'])).toEqual([1, 2, 3, 4, 5]);
    // The 5th join: 11 messages (2n + 1 for a room of 4 growing to 5) and the joiner's `joined`,
    // each delivered to all 5 members, whichever worker hosts them; every existing member
    // verified the 9 frames it did not sign itself.
    const last = records[4] as Json;
    expect(last['messages']).toBe(11);
    expect(last['deliveries']).toBe(60);
    expect(last['verifyPerMember']).toBe(9);
    // The one-process targets are not judged on a spread-out build.
    const targets = summary['targets'] as Json[];
    expect(targets[0]?.['met']).toBeNull();
  });

  it('concurrent n=3 k=2', async () => {
    const { file } = await concurrentCell('--trials', '3', '--relay-in-process');
    const [cell] = file['results'] as Json[];
    expect((file['params'] as Json)['trials']).toBe(3);
    expect(cell?.['allAdmitted']).toBe(true);
    positive(cell as Json, ['seconds', 'singleJoinSeconds', 'ratio', 'sessionRounds', 'messages']);
    // What one member's and one joiner's machine spend, beside the time of the whole process.
    positive(cell as Json, [
      'memberCpuMs',
      'joinerCpuMs',
      'singleJoinMemberCpuMs',
      'memberCpuRatio',
    ]);
    // Both sides are the median of the trials asked for (five unless told), alternating.
    const samples = [...(cell?.['singleJoinSamples'] as number[])].sort((a, b) => a - b);
    expect(samples).toHaveLength(3);
    expect(cell?.['singleJoinSeconds'] as number).toBeCloseTo(samples[1] as number, 3);
    const trials = [...(cell?.['samples'] as number[])].sort((a, b) => a - b);
    expect(trials).toHaveLength(3);
    expect(cell?.['seconds'] as number).toBeCloseTo(trials[1] as number, 3);
    // The median trial's traffic: one batch round when both requests were ordered before the
    // members answered the first (the usual case), else the first joiner's round, then the
    // second's; never more rounds than joiners.
    expect([1, 2]).toContain(cell?.['sessionRounds']);
    positive(cell as Json, ['bytes']);
    expect((file['summary'] as Json)['allAdmitted']).toBe(true);
  });

  it('concurrent n=3 k=2 with every client on a core of its own (parallel transport)', async () => {
    const { file, markdown } = await concurrentCell('--transport', 'parallel', '--latency-ms', '5');
    const [cell] = file['results'] as Json[];
    expect(cell?.['allAdmitted']).toBe(true);
    positive(cell as Json, ['seconds', 'singleJoinSeconds', 'ratio', 'memberCpuMs']);
    // Virtual time: a join crosses the relay at least twice (request, answers), 5 ms each way.
    expect(cell?.['singleJoinSeconds'] as number).toBeGreaterThanOrEqual(0.01);
    expect(cell?.['seconds'] as number).toBeGreaterThanOrEqual(0.01);
    expect((file['params'] as Json)['verifyThreads']).toBe(0);
    expect(markdown).toContain('every client on a core of its own, relay latency 5 ms');
  });

  it('the same with the relay write batcher modelled (--relay-batch-ms)', async () => {
    const { file, markdown } = await concurrentCell(
      '--trials',
      '1',
      '--transport',
      'parallel',
      '--relay-batch-ms',
      '1',
    );
    const [cell] = file['results'] as Json[];
    expect(cell?.['allAdmitted']).toBe(true);
    positive(cell as Json, ['seconds', 'singleJoinSeconds', 'ratio']);
    expect((file['params'] as Json)['relayBatchMs']).toBe(1);
    expect(markdown).toContain('relay write batching every 1 ms');
  });

  it('chat n=3 m=20', async () => {
    const { file } = await run([
      'chat',
      '--n',
      '3',
      '--m',
      '20',
      '--rate',
      '100',
      '--rate-seconds',
      '0.2',
      '--relay-in-process',
    ]);
    positive(file['summary'] as Json, ['verifyDecryptPerSecond', 'p50AtRateMs', 'p99AtRateMs']);
    const phases = (file['results'] as { phases: Json[] }).phases;
    expect(phases.map((p) => p['phase'])).toEqual(['burst', 'rate-all', 'rate-probes']);
    for (const p of phases) {
      expect(p['complete']).toBe(true);
      positive(p, ['messagesPerSecond', 'verifyDecryptPerSecond', 'relayBytes']);
    }
  });

  it('relay for about 3 s (relay in its own process)', async () => {
    const { file, markdown } = await run([
      'relay',
      '--connections',
      '6',
      '--rooms',
      '2',
      '--seconds',
      '0.5',
      '--latency-at',
      '1000',
    ]);
    const summary = file['summary'] as Json;
    positive(summary, ['deliveriesPerSecond', 'p50Ms', 'p99Ms']);
    expect(summary['client']).toBe('raw');
    const results = file['results'] as Json[];
    expect(results.map((r) => r['phase'])).toEqual(['saturate', 'half-saturation', 'deliveries']);
    expect(results.every((r) => r['client'] === 'raw' && r['rejected'] === 0)).toBe(true);
    // 1,000 deliveries/s over rooms of 3 is 333 messages/s.
    expect(results[2]?.['offeredDeliveriesPerSecond']).toBeCloseTo(1000, 6);
    const targets = summary['targets'] as Json[];
    expect(targets.map((t) => t['measure'])).toContain(
      'p99 latency at 50,000 deliveries/s (half of 100k)',
    );
    expect(markdown).toContain('| raw |');
  });

  it('relay with both generators in one command', async () => {
    const { file } = await run([
      'relay',
      '--connections',
      '4',
      '--rooms',
      '2',
      '--seconds',
      '0.3',
      '--rate',
      '50',
      '--client',
      'raw,socket.io',
      '--in-process',
    ]);
    const results = file['results'] as Json[];
    expect(results.map((r) => r['client'])).toEqual(['raw', 'socket.io']);
    for (const r of results) positive(r, ['deliveries', 'messages']);
    await expect(runBench(['relay', '--client', 'nope'])).rejects.toThrow(UsageError);
  });

  describe('the raw relay client (bench/relay-wire-client.ts)', () => {
    let relay: RunningRelay | undefined;
    const clients: WireClient[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await relay?.close();
      relay = undefined;
    });

    it('receives every event of its room, in order, exactly once', async () => {
      relay = await startRelay({ host: '127.0.0.1', limits: { eventsPerSecond: 1e5, burst: 1e5 } });
      const url = relay.url;
      const members = 4;
      const perSender = 25;
      const senders = 2;
      const got: { sender: number; n: number; seq: number }[][] = [];
      const errors: Error[] = [];
      for (let i = 0; i < members; i++) {
        const mine: { sender: number; n: number; seq: number }[] = [];
        got.push(mine);
        const client = await WireClient.connect(url, {
          onMessage: (data, seq) =>
            mine.push({ sender: data.readUInt32LE(0), n: data.readUInt32LE(4), seq }),
          onError: (err) => errors.push(err),
        });
        clients.push(client);
        await client.join({ room: 'smoke', nick: `m${i}` });
      }
      // A second room on the same relay must not leak into the first.
      const other = await WireClient.connect(url, { onError: (err) => errors.push(err) });
      clients.push(other);
      await other.join({ room: 'elsewhere', nick: 'm0' });
      other.send(Buffer.alloc(8));

      const replies: boolean[] = [];
      for (let n = 0; n < perSender; n++) {
        for (let s = 0; s < senders; s++) {
          const data = Buffer.alloc(16);
          data.writeUInt32LE(s, 0);
          data.writeUInt32LE(n, 4);
          clients[s]?.send(data, (ok) => replies.push(ok));
        }
      }
      const messages = perSender * senders;
      const deadline = Date.now() + 10_000;
      while (got.some((g) => g.length < messages) && Date.now() < deadline && !errors.length) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(errors).toEqual([]);
      // deliveries == messages x receivers, and nothing more arrives.
      await new Promise((r) => setTimeout(r, 100));
      expect(got.reduce((n, g) => n + g.length, 0)).toBe(messages * members);
      expect(replies).toHaveLength(messages);
      expect(replies.every(Boolean)).toBe(true);
      for (const g of got) {
        // Everyone sees the same sequence; each sender's messages in the order it sent them.
        expect(g.map((e) => e.seq)).toEqual(got[0]?.map((e) => e.seq));
        for (let s = 0; s < senders; s++) {
          expect(g.filter((e) => e.sender === s).map((e) => e.n)).toEqual(
            Array.from({ length: perSender }, (_, n) => n),
          );
        }
      }
      // The later joiners' `joined` events came first, then the messages, consecutively.
      const seqs = got[0]?.map((e) => e.seq) ?? [];
      expect(seqs.slice(1).every((seq, k) => seq === (seqs[k] ?? 0) + 1)).toBe(true);
      expect(clients.every((c) => c.error === undefined)).toBe(true);
    });

    it('fails clearly when the relay refuses the join (NICK_TAKEN)', async () => {
      relay = await startRelay({ host: '127.0.0.1' });
      const first = await WireClient.connect(relay.url);
      clients.push(first);
      await first.join({ room: 'taken', nick: 'alice' });
      const second = await WireClient.connect(relay.url);
      clients.push(second);
      await expect(second.join({ room: 'taken', nick: 'alice' })).rejects.toThrow(/NICK_TAKEN/);
      expect(() => second.send(Buffer.alloc(8))).toThrow(/send before join/);
    });

    it('fails clearly on a frame it does not expect', async () => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise<void>((r) => server.once('listening', () => r()));
      server.on('connection', (ws) => {
        ws.send('0{"sid":"x","pingInterval":10000,"pingTimeout":10000,"maxPayload":1000000}');
        ws.once('message', () => ws.send('44{"message":"Invalid namespace"}'));
      });
      try {
        const { port } = server.address() as AddressInfo;
        await expect(WireClient.connect(`http://127.0.0.1:${port}`)).rejects.toThrow(
          /unexpected Socket.IO packet.*Invalid namespace/,
        );
      } finally {
        for (const ws of server.clients) ws.terminate();
        await new Promise((r) => server.close(r));
      }
    });
  });

  it('mls --max 4', async () => {
    const { file } = await run(['mls', '--max', '4']);
    positive(file['summary'] as Json, [
      'totalSeconds',
      'lastAddSeconds',
      'lastPerExistingMemberMs',
    ]);
    expect((file['summary'] as Json)['reached']).toBe(4);
  });

  it('refuses an unknown suite', async () => {
    await expect(runBench(['nope'])).rejects.toThrow(UsageError);
  });

  it('is wired to npm run bench', async () => {
    const root = resolve(import.meta.dirname, '../..');
    const file = join(dir, 'cli.json');
    const { stdout } = await promisify(execFile)(
      join(root, 'node_modules/.bin/tsx'),
      ['bench/index.ts', 'mls', '--quick', '--json', file],
      { cwd: root },
    );
    expect(stdout).toContain('## mls');
    expect(existsSync(file)).toBe(true);
  });
});
