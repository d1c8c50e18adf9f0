// Relay load test: N socket.io-client connections spread over M rooms on loopback; a few members
// of every room publish small messages stamped with their send time, every member receives
// every message, and we count deliveries (events x receivers) and their latency.
//
//   tsx bench/relay.ts --connections 300 --rooms 3 --seconds 5 [--workers 2]
//
// Without --rate it first saturates the relay (each sender keeps a bounded window of messages
// in flight) and then reruns at half the measured rate to report latency under moderate load.
// The relay runs in its own process, as a team would run it, so the clients do not share its
// event loop; --in-process embeds it instead. Decoding on the client side costs more CPU than
// relaying, so --workers spreads the clients over worker threads when cores allow.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import { startRelay } from '../src-main/relay/index';

export interface RelayBenchOptions {
  readonly connections: number;
  readonly rooms: number;
  readonly seconds: number;
  /** Messages per second offered across all rooms; omit to saturate. */
  readonly rate?: number;
  /** Senders per room (the other members only receive). */
  readonly sendersPerRoom?: number;
  readonly payloadBytes?: number;
  /** Messages each sender may have in flight when saturating. */
  readonly window?: number;
  /** Worker threads hosting the clients; 0 keeps them on the calling thread. */
  readonly workers?: number;
  /** Use an already running relay instead of starting one. */
  readonly url?: string;
  readonly inProcess?: boolean;
}

export interface RelayBenchResult {
  readonly connections: number;
  readonly rooms: number;
  readonly mode: 'saturate' | 'rate';
  readonly offeredRate: number | undefined;
  readonly seconds: number;
  readonly messages: number;
  readonly messagesPerSecond: number;
  readonly deliveries: number;
  readonly deliveriesPerSecond: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly rejected: number;
  /** Relay CPU time per delivery, when the relay ran as a child process on Linux. */
  readonly relayCpuMicrosPerDelivery: number | undefined;
  /** The clients' CPU time per delivery (all client threads). */
  readonly clientCpuMicrosPerDelivery: number;
  /**
   * Growth of the relay process's resident memory from just after it started to when every
   * connection had joined, divided by the connections (an upper bound: it includes the heap the
   * relay grows anyway). Only when the relay ran as a child process on Linux.
   */
  readonly relayMemoryPerConnectionBytes: number | undefined;
  /** The relay process's resident memory once every connection had joined. */
  readonly relayRssBytes: number | undefined;
}

/** What one group of clients (one thread) is asked to do. */
interface GroupSpec {
  readonly url: string;
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
  cpuMicros: number;
}

/** Wall-clock milliseconds with sub-microsecond resolution, comparable across threads. */
const now = (): number => performance.timeOrigin + performance.now();
const root = resolve(import.meta.dirname, '..');

/** The clients of one thread: connect and join, pump messages, record deliveries. */
class ClientGroup {
  private readonly sockets: { socket: Socket; room: string; sender: boolean; inFlight: number }[] =
    [];
  private measuring = false;
  private stopped = false;
  private pump: Promise<void> | undefined;
  private cpuStart = process.cpuUsage();
  private readonly stats: GroupStats = {
    deliveries: 0,
    messages: 0,
    rejected: 0,
    latencies: new Float64Array(1 << 16),
    cpuMicros: 0,
  };

  constructor(private readonly spec: GroupSpec) {}

  async connect(): Promise<void> {
    for (const i of this.spec.indices) {
      const socket = io(this.spec.url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      await new Promise<void>((done, fail) => {
        socket.once('connect', () => done());
        socket.once('connect_error', fail);
      });
      const room = `bench-${this.spec.runId}-${i % this.spec.rooms}`;
      const sender = Math.floor(i / this.spec.rooms) < this.spec.sendersPerRoom;
      const entry = { socket, room, sender, inFlight: 0 };
      socket.on('event', (event: { type: string; nick: string; data?: Buffer }) => {
        if (event.type !== 'message' || !event.data) return;
        if (event.nick === `c${i}`) entry.inFlight--;
        if (this.measuring) this.record(now() - event.data.readDoubleLE(0));
      });
      const reply = (await socket.emitWithAck('join', { room, nick: `c${i}` })) as { ok: boolean };
      if (!reply.ok) throw new Error(`join failed: ${JSON.stringify(reply)}`);
      this.sockets.push(entry);
    }
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

  private send(m: (typeof this.sockets)[number]): void {
    const data = Buffer.alloc(this.spec.payloadBytes);
    data.writeDoubleLE(now(), 0);
    m.inFlight++;
    if (this.measuring) this.stats.messages++;
    m.socket.emit('send', { room: m.room, data }, (reply: { ok: boolean }) => {
      if (reply.ok) return;
      this.stats.rejected++;
      m.inFlight--;
    });
  }

  start(): void {
    const senders = this.sockets.filter((m) => m.sender);
    const { rate, window } = this.spec;
    this.pump = (async () => {
      let owed = 0;
      let next = 0;
      let last = performance.now();
      while (!this.stopped) {
        if (rate === undefined) {
          for (const m of senders) while (m.inFlight < window) this.send(m);
        } else {
          const t = performance.now();
          owed += ((t - last) / 1000) * rate;
          last = t;
          for (; owed >= 1 && senders.length; owed--) {
            const m = senders[next++ % senders.length];
            if (m) this.send(m);
          }
        }
        await new Promise((r) => setTimeout(r, rate === undefined ? 0 : 2));
      }
    })();
  }

  measure(): void {
    this.measuring = true;
    this.cpuStart = process.cpuUsage();
  }

  async finish(): Promise<GroupStats> {
    this.measuring = false;
    const cpu = process.cpuUsage(this.cpuStart);
    this.stats.cpuMicros = cpu.user + cpu.system;
    this.stopped = true;
    await this.pump;
    for (const m of this.sockets) m.socket.disconnect();
    this.stats.latencies = this.stats.latencies.slice(0, this.stats.deliveries);
    return this.stats;
  }
}

/** The same three steps, whether the group runs on this thread or in a worker. */
interface GroupHandle {
  ready: Promise<void>;
  go(): void;
  measure(): void;
  finish(): Promise<GroupStats>;
}

function localGroup(spec: GroupSpec): GroupHandle {
  const group = new ClientGroup(spec);
  return {
    ready: group.connect(),
    go: () => group.start(),
    measure: () => group.measure(),
    finish: () => group.finish(),
  };
}

function workerGroup(spec: GroupSpec): GroupHandle {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { role: 'relay-bench-clients', spec },
    execArgv: ['--import', 'tsx'],
  });
  const next = (type: string) =>
    new Promise<unknown>((done, fail) => {
      const onMessage = (msg: { type: string; stats?: GroupStats }) => {
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
      const result = (await stats) as GroupStats;
      await worker.terminate();
      return result;
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

export async function runRelayBench(options: RelayBenchOptions): Promise<RelayBenchResult> {
  const { connections, rooms, seconds } = options;
  const perRoom = Math.ceil(connections / rooms);
  const sendersPerRoom = Math.min(options.sendersPerRoom ?? 2, perRoom);
  const workers = Math.max(0, Math.floor(options.workers ?? 0));
  const relay = await startBenchRelay(options, perRoom);
  const rssBefore = relay.rssBytes();
  const threads = Math.max(1, workers);
  const totalSenders = Math.min(connections, rooms * sendersPerRoom);
  const runId = randomBytes(4).toString('hex');
  const specs: GroupSpec[] = Array.from({ length: threads }, (_, t) => {
    const indices = Array.from({ length: connections }, (_, i) => i).filter(
      (i) => i % threads === t,
    );
    const senders = indices.filter((i) => Math.floor(i / rooms) < sendersPerRoom).length;
    return {
      url: relay.url,
      runId,
      indices,
      rooms,
      sendersPerRoom,
      payloadBytes: Math.max(8, options.payloadBytes ?? 64),
      window: options.window ?? 32,
      rate: options.rate === undefined ? undefined : (options.rate * senders) / totalSenders,
    };
  });
  const groups = specs.map((spec) => (workers > 0 ? workerGroup(spec) : localGroup(spec)));
  try {
    await Promise.all(groups.map((g) => g.ready));
    const rssJoined = relay.rssBytes();
    for (const g of groups) g.go();
    await new Promise((r) => setTimeout(r, Math.min(1_000, seconds * 200))); // warm up
    for (const g of groups) g.measure();
    const cpuBefore = relay.cpuSeconds();
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpuAfter = relay.cpuSeconds();
    const all = await Promise.all(groups.map((g) => g.finish()));
    const elapsed = (performance.now() - started) / 1000;

    const deliveries = all.reduce((n, s) => n + s.deliveries, 0);
    const messages = all.reduce((n, s) => n + s.messages, 0);
    const sorted = new Float64Array(deliveries);
    let offset = 0;
    for (const s of all) {
      sorted.set(s.latencies, offset);
      offset += s.latencies.length;
    }
    sorted.sort();
    const clientCpu = all.reduce((n, s) => n + s.cpuMicros, 0);
    return {
      connections,
      rooms,
      mode: options.rate === undefined ? 'saturate' : 'rate',
      offeredRate: options.rate,
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
      rejected: all.reduce((n, s) => n + s.rejected, 0),
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

export function toMarkdown(results: readonly RelayBenchResult[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows = results.map((r) => {
    const relayCpu = r.relayCpuMicrosPerDelivery;
    return [
      r.mode === 'saturate' ? 'saturate' : `${fmt(r.offeredRate ?? 0)} msg/s`,
      r.connections,
      r.rooms,
      fmt(r.messagesPerSecond),
      fmt(r.deliveriesPerSecond),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p90.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.latencyMs.max.toFixed(1),
      r.rejected,
      relayCpu === undefined ? 'n/a' : relayCpu.toFixed(2),
      relayCpu ? fmt(1e6 / relayCpu) : 'n/a',
      r.clientCpuMicrosPerDelivery.toFixed(2),
      r.relayMemoryPerConnectionBytes === undefined
        ? 'n/a'
        : (r.relayMemoryPerConnectionBytes / 1024).toFixed(1),
    ].join(' | ');
  });
  const header = [
    'load',
    'connections',
    'rooms',
    'messages/s',
    'deliveries/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'rejected',
    'relay CPU µs/delivery',
    'deliveries per relay CPU-second',
    'client CPU µs/delivery',
    'relay memory KiB/connection',
  ];
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
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
      'in-process': { type: 'boolean', default: false },
      url: { type: 'string' },
    },
  });
  const base: RelayBenchOptions = {
    connections: Number(values.connections),
    rooms: Number(values.rooms),
    seconds: Math.min(60, Number(values.seconds)), // keep runs bounded
    sendersPerRoom: values.senders === undefined ? undefined : Number(values.senders),
    payloadBytes: values.payload === undefined ? undefined : Number(values.payload),
    workers: Number(values.workers),
    inProcess: values['in-process'],
    url: values.url,
  };
  const results: RelayBenchResult[] = [];
  if (values.rate !== undefined) {
    results.push(await runRelayBench({ ...base, rate: Number(values.rate) }));
  } else {
    const max = await runRelayBench(base);
    results.push(max);
    results.push(await runRelayBench({ ...base, rate: max.messagesPerSecond / 2 }));
  }
  console.log(toMarkdown(results));
}

async function workerMain(spec: GroupSpec): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const group = new ClientGroup(spec);
  await group.connect();
  port.on('message', (msg: string) => {
    if (msg === 'go') group.start();
    if (msg === 'measure') group.measure();
    if (msg === 'finish') {
      void group.finish().then((stats) => {
        port.postMessage({ type: 'stats', stats }, [stats.latencies.buffer as ArrayBuffer]);
      });
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
