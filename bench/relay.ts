// Relay load test: N connections spread over M rooms on loopback; a few members of every room
// publish small messages stamped with their send time, every member receives every message, and
// we count deliveries (events x receivers) and their latency.
//
//   tsx bench/relay.ts --connections 300 --rooms 3 --seconds 5 [--client raw,socket.io]
//       [--latency-at 50000] [--rate MSGS] [--workers 2] [--in-process] [--url URL]
//
// Without --rate it first saturates the relay (each sender keeps a bounded window of messages
// in flight), then reruns at half the measured rate, then at the rate that offers --latency-at
// deliveries per second (default 50,000: half the 100,000/s target), to report latency under
// moderate load. The relay runs in its own process, as a team would run it, so the clients do
// not share its event loop; --in-process embeds it instead.
//
// The generator shares the machine with the relay, so its CPU per delivery decides how much is
// left for the relay. `--client raw` (the default) drives the relay with
// bench/relay-wire-client.ts, which speaks the Socket.IO wire protocol over a bare WebSocket and
// reads only what it needs from each frame; `--client socket.io` uses socket.io-client as the
// app does (about twice the generator CPU per delivery at 50,000/s); `--client raw,socket.io`
// runs both in one command. --workers spreads the clients over worker threads when cores allow.
import { toMarkdown } from './relay-report';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import { startRelay } from '../src-main/relay/index';
import { WireClient } from './relay-wire-client';

import type { RelayBenchClient, RelayBenchOptions, RelayBenchResult } from './relay-types';
import { RELAY_BENCH_CLIENTS } from './relay-types';

export type { RelayBenchClient, RelayBenchOptions, RelayBenchResult } from './relay-types';
export { RELAY_BENCH_CLIENTS } from './relay-types';

/** What one group of clients (one thread) is asked to do. */
interface GroupSpec {
  readonly url: string;
  readonly client: RelayBenchClient;
  /** Distinguishes rooms of successive runs against the same relay (nicks linger for grace). */
  readonly runId: string;
  readonly indices: readonly number[];
  readonly rooms: number;
  readonly sendersPerRoom: number;
  readonly payloadBytes: number;
  readonly window: number;
  /** This group's share of the offered rate; undefined saturates. */
  readonly rate: number | undefined;
}

interface GroupStats {
  deliveries: number;
  messages: number;
  rejected: number;
  latencies: Float64Array;
  lags: Float64Array;
  lagCount: number;
  maxBurst: number;
}

/** Wall-clock milliseconds with sub-microsecond resolution, comparable across threads. */
const timeOrigin = performance.timeOrigin; // a getter that calls into C++: read it once
const now = (): number => timeOrigin + performance.now();
const root = resolve(import.meta.dirname, '..');

// A message's payload carries what the generator needs, so receivers never parse JSON for it:
// bytes 0-7 the sender's clock when it sent the message (float64), bytes 8-11 the sender's
// connection index (uint32); the rest is zero.
const STAMP_OFFSET = 0;
const SENDER_OFFSET = 8;
const MIN_PAYLOAD = 12;

/** One connection of the generator, whichever client carries it. */
interface Member {
  readonly index: number;
  readonly room: string;
  readonly sender: boolean;
  inFlight: number;
  publish(data: Buffer, onReply: (ok: boolean) => void): void;
  close(): void;
}

/** The clients of one thread: connect and join, pump messages, record deliveries. */
class ClientGroup {
  private readonly members: Member[] = [];
  private measuring = false;
  private stopped = false;
  private failure: Error | undefined;
  private pump: Promise<void> | undefined;
  private readonly stats: GroupStats = {
    deliveries: 0,
    messages: 0,
    rejected: 0,
    latencies: new Float64Array(1 << 16),
    lags: new Float64Array(1 << 12),
    lagCount: 0,
    maxBurst: 0,
  };

  constructor(private readonly spec: GroupSpec) {}

  async connect(): Promise<void> {
    try {
      for (const i of this.spec.indices) {
        const room = `bench-${this.spec.runId}-${i % this.spec.rooms}`;
        const sender = Math.floor(i / this.spec.rooms) < this.spec.sendersPerRoom;
        const member =
          this.spec.client === 'raw'
            ? await this.connectRaw(i, room, sender)
            : await this.connectSocketIo(i, room, sender);
        this.members.push(member);
      }
    } catch (err) {
      this.closeAll();
      throw err;
    }
  }

  private async connectRaw(index: number, room: string, sender: boolean): Promise<Member> {
    const member: Member = {
      index,
      room,
      sender,
      inFlight: 0,
      publish: (data, onReply) => client.send(data, onReply),
      close: () => client.close(),
    };
    const client = await WireClient.connect(this.spec.url, {
      onMessage: (data) => this.delivered(member, data),
      onError: (err) => this.fail(err),
    });
    try {
      await client.join({ room, nick: `c${index}` });
    } catch (err) {
      client.close();
      throw err;
    }
    return member;
  }

  private async connectSocketIo(index: number, room: string, sender: boolean): Promise<Member> {
    const socket: Socket = io(this.spec.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((done, fail) => {
      socket.once('connect', () => done());
      socket.once('connect_error', fail);
    });
    const member: Member = {
      index,
      room,
      sender,
      inFlight: 0,
      publish: (data, onReply) =>
        socket.emit('send', { room, data }, (r: { ok: boolean }) => onReply(r.ok)),
      close: () => socket.disconnect(),
    };
    socket.on('event', (event: { type: string; data?: Buffer }) => {
      if (event.type === 'message' && event.data) this.delivered(member, event.data);
    });
    socket.on('disconnect', (reason) => {
      if (!this.stopped) this.fail(new Error(`relay disconnected c${index}: ${reason}`));
    });
    const reply = (await socket
      .timeout(10_000)
      .emitWithAck('join', { room, nick: `c${index}` })) as {
      ok: boolean;
      error?: { code: string };
    };
    if (!reply.ok) {
      socket.disconnect();
      throw new Error(`join ${room} as c${index} failed: ${JSON.stringify(reply)}`);
    }
    return member;
  }

  /** `receiver` got a message; its own message ends one of its sends in flight. */
  private delivered(receiver: Member, data: Buffer): void {
    if (data.readUInt32LE(SENDER_OFFSET) === receiver.index) receiver.inFlight--;
    if (this.measuring) this.record(now() - data.readDoubleLE(STAMP_OFFSET));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.stopped = true;
  }

  private record(latency: number): void {
    const s = this.stats;
    if (s.deliveries === s.latencies.length) {
      const grown = new Float64Array(s.latencies.length * 2);
      grown.set(s.latencies);
      s.latencies = grown;
    }
    s.latencies[s.deliveries++] = latency;
  }

  private recordLag(lag: number): void {
    const s = this.stats;
    if (s.lagCount === s.lags.length) {
      const grown = new Float64Array(s.lags.length * 2);
      grown.set(s.lags);
      s.lags = grown;
    }
    s.lags[s.lagCount++] = lag;
  }

  private send(m: Member): void {
    const data = Buffer.alloc(this.spec.payloadBytes);
    data.writeUInt32LE(m.index, SENDER_OFFSET);
    m.inFlight++;
    if (this.measuring) this.stats.messages++;
    // The stamp is the last thing before the message goes out: latency starts here.
    data.writeDoubleLE(now(), STAMP_OFFSET);
    m.publish(data, (ok) => {
      if (ok) return;
      this.stats.rejected++;
      m.inFlight--;
    });
  }

  start(): void {
    const senders = this.members.filter((m) => m.sender);
    const { rate, window } = this.spec;
    this.pump = (async () => {
      if (rate === undefined) {
        while (!this.stopped) {
          for (const m of senders) while (m.inFlight < window) this.send(m);
          await new Promise((r) => setTimeout(r, 0));
        }
        return;
      }
      if (!senders.length || rate <= 0) return;
      // Message k is due at start + k / rate, stamped when it really goes out. Each timer tick
      // sends what is due (one message per tick at 500 msg/s), then sleeps until the next one
      // is. A tick that comes late, because the thread was busy receiving, sends everything
      // overdue: pacing one message per event-loop turn instead was tried and made the
      // socket.io-client generator, whose turns run longer than the interval, fall behind for
      // good. The lag and the largest burst are reported, so a generator that cannot keep up is
      // visible rather than hidden.
      const interval = 1000 / rate;
      let due = performance.now();
      let next = 0;
      while (!this.stopped) {
        const t = performance.now();
        let burst = 0;
        for (; due <= t; due += interval, burst++) {
          const m = senders[next++ % senders.length];
          if (m) this.send(m);
          if (this.measuring) this.recordLag(t - due);
        }
        if (this.measuring && burst > this.stats.maxBurst) this.stats.maxBurst = burst;
        await new Promise((r) => setTimeout(r, Math.max(1, due - performance.now())));
      }
    })();
  }

  measure(): void {
    this.measuring = true;
  }

  async finish(): Promise<GroupStats> {
    this.measuring = false;
    const failure = this.failure;
    this.stopped = true;
    await this.pump;
    this.closeAll();
    if (failure) throw failure;
    this.stats.latencies = this.stats.latencies.slice(0, this.stats.deliveries);
    this.stats.lags = this.stats.lags.slice(0, this.stats.lagCount);
    return this.stats;
  }

  closeAll(): void {
    this.stopped = true;
    for (const m of this.members) m.close();
  }
}

/** The same three steps, whether the group runs on this thread or in a worker. */
interface GroupHandle {
  ready: Promise<void>;
  go(): void;
  measure(): void;
  finish(): Promise<GroupStats>;
  /** Stops everything after a failure elsewhere. */
  abort(): Promise<void>;
}

function localGroup(spec: GroupSpec): GroupHandle {
  const group = new ClientGroup(spec);
  return {
    ready: group.connect(),
    go: () => group.start(),
    measure: () => group.measure(),
    finish: () => group.finish(),
    abort: async () => group.closeAll(),
  };
}

function workerGroup(spec: GroupSpec): GroupHandle {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { role: 'relay-bench-clients', spec },
    execArgv: ['--import', 'tsx'],
  });
  const next = (type: string) =>
    new Promise<unknown>((done, fail) => {
      const onMessage = (msg: { type: string; stats?: GroupStats; error?: string }) => {
        if (msg.type === 'error') {
          worker.off('message', onMessage);
          fail(new Error(`relay bench worker: ${msg.error}`));
          return;
        }
        if (msg.type !== type) return;
        worker.off('message', onMessage);
        done(msg.stats);
      };
      worker.on('message', onMessage);
      worker.once('error', fail);
    });
  return {
    ready: next('ready').then(() => undefined),
    go: () => worker.postMessage('go'),
    measure: () => worker.postMessage('measure'),
    async finish() {
      const stats = next('stats');
      worker.postMessage('finish');
      try {
        return (await stats) as GroupStats;
      } finally {
        await worker.terminate();
      }
    },
    abort: async () => {
      await worker.terminate();
    },
  };
}

export interface BenchRelay {
  readonly url: string;
  /** CPU seconds the relay process has used so far, where the OS tells us (Linux). */
  cpuSeconds(): number | undefined;
  /** Resident memory of the relay process, where the OS tells us (Linux). */
  rssBytes(): number | undefined;
  stop(): Promise<void>;
}

function processCpuSeconds(pid: number | undefined): number | undefined {
  try {
    // Fields 14 and 15 of /proc/PID/stat: user and system time in clock ticks (100 Hz).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined; // not Linux: the column says n/a
  }
}

function processRssBytes(pid: number | undefined): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The relay under test: a child process by default, in this process with `inProcess`. */
export async function startBenchRelay(
  options: Pick<RelayBenchOptions, 'url' | 'inProcess'>,
  perRoom: number,
): Promise<BenchRelay> {
  const none = () => undefined;
  if (options.url) {
    return { url: options.url, cpuSeconds: none, rssBytes: none, stop: async () => undefined };
  }
  if (options.inProcess) {
    const relay = await startRelay({
      limits: { eventsPerSecond: 1e6, burst: 1e6, maxMembersPerRoom: perRoom },
      retention: { count: 10_000 },
    });
    return { url: relay.url, cpuSeconds: none, rssBytes: none, stop: () => relay.close() };
  }
  // `node --import tsx` rather than the tsx CLI, so the child is the relay itself and its CPU
  // time can be read.
  const args = ['--import', 'tsx', resolve(root, 'src-main/relay/cli.ts'), '--port', '0'];
  args.push('--log-level', 'warn', '--rate', '1000000', '--burst', '1000000');
  args.push('--max-members', String(perRoom), '--retention-count', '10000');
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('relay did not start')), 20_000);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /relay listening on (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.once('exit', (code) => fail(new Error(`relay exited with ${code}`)));
  });
  return {
    url,
    cpuSeconds: () => processCpuSeconds(child.pid),
    rssBytes: () => processRssBytes(child.pid),
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Rooms get connections round-robin (connection i is in room i mod rooms). */
function roomSizes(connections: number, rooms: number): number[] {
  return Array.from({ length: rooms }, (_, r) => Math.floor((connections - r - 1) / rooms) + 1);
}

/**
 * Every member of a room receives each of its messages (the sender too), so this is the
 * deliveries one message makes, averaged over the senders, who share the rate equally.
 */
export function receiversPerMessage(
  connections: number,
  rooms: number,
  sendersPerRoom = 2,
): number {
  const sizes = roomSizes(connections, rooms).filter((n) => n > 0);
  let senders = 0;
  let receivers = 0;
  for (const size of sizes) {
    const s = Math.min(size, sendersPerRoom);
    senders += s;
    receivers += s * size;
  }
  return senders ? receivers / senders : 0;
}

export async function runRelayBench(
  options: RelayBenchOptions,
  phase?: RelayBenchResult['phase'],
): Promise<RelayBenchResult> {
  const { connections, rooms, seconds } = options;
  const client = options.client ?? 'raw';
  if (!RELAY_BENCH_CLIENTS.includes(client)) throw new Error(`unknown client ${String(client)}`);
  const perRoom = Math.ceil(connections / rooms);
  const sendersPerRoom = Math.min(options.sendersPerRoom ?? 2, perRoom);
  const workers = Math.max(0, Math.floor(options.workers ?? 0));
  const relay = await startBenchRelay(options, perRoom);
  const rssBefore = relay.rssBytes();
  const totalSenders = roomSizes(connections, rooms).reduce(
    (n, size) => n + Math.min(size, sendersPerRoom),
    0,
  );
  const runId = randomBytes(4).toString('hex');
  const isSender = (i: number) => Math.floor(i / rooms) < sendersPerRoom;
  const threads = Math.max(1, workers);
  const placed = Array.from({ length: threads }, (_, t) =>
    Array.from({ length: connections }, (_, i) => i).filter((i) => i % threads === t),
  ).filter((indices) => indices.length > 0);
  const specs = placed.map((indices): GroupSpec => {
    const senders = indices.filter(isSender).length;
    return {
      url: relay.url,
      client,
      runId,
      indices,
      rooms,
      sendersPerRoom,
      payloadBytes: Math.max(MIN_PAYLOAD, options.payloadBytes ?? 64),
      window: options.window ?? 32,
      rate: options.rate === undefined ? undefined : (options.rate * senders) / totalSenders,
    };
  });
  const groups = specs.map((spec) => (workers > 0 ? workerGroup(spec) : localGroup(spec)));
  try {
    try {
      await Promise.all(groups.map((g) => g.ready));
    } catch (err) {
      await Promise.allSettled(groups.map((g) => g.ready));
      await Promise.all(groups.map((g) => g.abort()));
      throw err;
    }
    const rssJoined = relay.rssBytes();
    for (const g of groups) g.go();
    await new Promise((r) => setTimeout(r, Math.min(1_000, seconds * 200))); // warm up
    for (const g of groups) g.measure();
    // The whole generator process (every thread): process.cpuUsage() is process-wide.
    const generatorCpu = process.cpuUsage();
    const cpuBefore = relay.cpuSeconds();
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpuAfter = relay.cpuSeconds();
    const generatorUsage = process.cpuUsage(generatorCpu);
    const settled = await Promise.allSettled(groups.map((g) => g.finish()));
    const elapsed = (performance.now() - started) / 1000;
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const stats = settled.map((s) => (s as PromiseFulfilledResult<GroupStats>).value);

    const deliveries = stats.reduce((n, s) => n + s.deliveries, 0);
    const messages = stats.reduce((n, s) => n + s.messages, 0);
    const sorted = new Float64Array(deliveries);
    let offset = 0;
    for (const s of stats) {
      sorted.set(s.latencies, offset);
      offset += s.latencies.length;
    }
    sorted.sort();
    const lags = new Float64Array(stats.reduce((n, s) => n + s.lags.length, 0));
    offset = 0;
    for (const s of stats) {
      lags.set(s.lags, offset);
      offset += s.lags.length;
    }
    lags.sort();
    const clientCpu = generatorUsage.user + generatorUsage.system;
    return {
      connections,
      rooms,
      client,
      mode: options.rate === undefined ? 'saturate' : 'rate',
      phase: phase ?? (options.rate === undefined ? 'saturate' : 'rate'),
      offeredRate: options.rate,
      offeredDeliveriesPerSecond:
        options.rate === undefined
          ? undefined
          : options.rate * receiversPerMessage(connections, rooms, sendersPerRoom),
      seconds: elapsed,
      messages,
      messagesPerSecond: messages / elapsed,
      deliveries,
      deliveriesPerSecond: deliveries / elapsed,
      latencyMs: {
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        max: percentile(sorted, 100),
      },
      pacing:
        options.rate === undefined
          ? undefined
          : {
              lagP99Ms: percentile(lags, 99),
              lagMaxMs: percentile(lags, 100),
              maxBurst: stats.reduce((n, s) => Math.max(n, s.maxBurst), 0),
            },
      rejected: stats.reduce((n, s) => n + s.rejected, 0),
      relayCpuMicrosPerDelivery:
        cpuBefore === undefined || cpuAfter === undefined || deliveries === 0
          ? undefined
          : ((cpuAfter - cpuBefore) * 1e6) / deliveries,
      clientCpuMicrosPerDelivery: clientCpu / Math.max(1, deliveries),
      relayMemoryPerConnectionBytes:
        rssBefore === undefined || rssJoined === undefined || connections === 0
          ? undefined
          : Math.max(0, rssJoined - rssBefore) / connections,
      relayRssBytes: rssJoined,
    };
  } finally {
    await relay.stop();
  }
}

export interface RelaySeriesOptions {
  /** Generators to run, each through the whole series; the first is the suite's headline. */
  readonly clients: readonly RelayBenchClient[];
  /** Also measure latency at this many offered deliveries per second (0 skips). */
  readonly latencyAtDeliveries: number;
  readonly onResult?: (result: RelayBenchResult) => void;
}

/**
 * With `rate`: one run per client at that rate. Without: per client, saturation, then half the
 * measured saturation rate, then the rate that offers `latencyAtDeliveries` deliveries/s.
 */
export async function runRelaySeries(
  base: RelayBenchOptions,
  series: RelaySeriesOptions,
): Promise<RelayBenchResult[]> {
  const results: RelayBenchResult[] = [];
  const add = (r: RelayBenchResult) => {
    results.push(r);
    series.onResult?.(r);
  };
  const receivers = receiversPerMessage(base.connections, base.rooms, base.sendersPerRoom ?? 2);
  for (const client of series.clients) {
    const options = { ...base, client };
    if (base.rate !== undefined) {
      add(await runRelayBench(options, 'rate'));
      continue;
    }
    const max = await runRelayBench({ ...options, rate: undefined }, 'saturate');
    add(max);
    add(await runRelayBench({ ...options, rate: max.messagesPerSecond / 2 }, 'half-saturation'));
    if (series.latencyAtDeliveries > 0 && receivers > 0) {
      const rate = series.latencyAtDeliveries / receivers;
      add(await runRelayBench({ ...options, rate }, 'deliveries'));
    }
  }
  return results;
}

/** `--client raw,socket.io` (or one of them). */
export function parseClients(raw: string | undefined): RelayBenchClient[] {
  const clients = (raw ?? 'raw').split(',').map((c) => c.trim());
  for (const c of clients) {
    if (!RELAY_BENCH_CLIENTS.includes(c as RelayBenchClient)) {
      throw new Error(`--client takes ${RELAY_BENCH_CLIENTS.join(', ')} (comma-separated)`);
    }
  }
  return clients as RelayBenchClient[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '300' },
      rooms: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string' },
      senders: { type: 'string' },
      payload: { type: 'string' },
      workers: { type: 'string', default: '0' },
      client: { type: 'string', default: 'raw' },
      'latency-at': { type: 'string', default: '50000' },
      'in-process': { type: 'boolean', default: false },
      url: { type: 'string' },
    },
  });
  const base: RelayBenchOptions = {
    connections: Number(values.connections),
    rooms: Number(values.rooms),
    seconds: Math.min(60, Number(values.seconds)), // keep runs bounded
    rate: values.rate === undefined ? undefined : Number(values.rate),
    sendersPerRoom: values.senders === undefined ? undefined : Number(values.senders),
    payloadBytes: values.payload === undefined ? undefined : Number(values.payload),
    workers: Number(values.workers),
    inProcess: values['in-process'],
    url: values.url,
  };
  const results = await runRelaySeries(base, {
    clients: parseClients(values.client),
    latencyAtDeliveries: Number(values['latency-at']),
  });
  console.log(toMarkdown(results));
}

async function workerMain(spec: GroupSpec): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const group = new ClientGroup(spec);
  try {
    await group.connect();
  } catch (err) {
    port.postMessage({ type: 'error', error: String(err instanceof Error ? err.message : err) });
    return;
  }
  port.on('message', (msg: string) => {
    if (msg === 'go') group.start();
    if (msg === 'measure') group.measure();
    if (msg === 'finish') {
      group.finish().then(
        (stats) => {
          port.postMessage({ type: 'stats', stats }, [
            stats.latencies.buffer as ArrayBuffer,
            stats.lags.buffer as ArrayBuffer,
          ]);
        },
        (err: unknown) => {
          port.postMessage({
            type: 'error',
            error: String(err instanceof Error ? err.message : err),
          });
        },
      );
    }
  });
  port.postMessage({ type: 'ready' });
}

const role = (workerData as { role?: string; spec?: GroupSpec } | null) ?? {};
if (!isMainThread && role.role === 'relay-bench-clients' && role.spec) {
  void workerMain(role.spec);
} else if (isMainThread && import.meta.filename === resolve(process.argv[1] ?? '')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
