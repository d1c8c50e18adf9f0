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
//
// This file is the suite's runner (one run, the series, the command line). The pieces:
// relay-process.ts (the relay under test), relay-load.ts (the clients of one thread),
// relay-threads.ts (a group on this thread or a worker), relay-stats.ts (the arithmetic),
// relay-report.ts (the Markdown table), relay-types.ts (options and results).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { sleep } from './common';
import type { GroupSpec, GroupStats } from './relay-load';
import { MIN_PAYLOAD } from './relay-load';
import type { BenchRelay } from './relay-process';
import { startBenchRelay } from './relay-process';
import { toMarkdown } from './relay-report';
import type { MergedStats } from './relay-stats';
import { mergeStats, percentile, receiversPerMessage, roomSizes } from './relay-stats';
import type { GroupHandle } from './relay-threads';
import { localGroup, workerGroup } from './relay-threads';
import type { RelayBenchClient, RelayBenchOptions, RelayBenchResult } from './relay-types';
import { RELAY_BENCH_CLIENTS } from './relay-types';

export type { RelayBenchClient, RelayBenchOptions, RelayBenchResult } from './relay-types';
export { RELAY_BENCH_CLIENTS } from './relay-types';
export { receiversPerMessage } from './relay-stats';

/** Each thread's share of the connections (connection i on thread i mod threads). */
function groupSpecs(
  options: RelayBenchOptions,
  client: RelayBenchClient,
  url: string,
  sendersPerRoom: number,
): GroupSpec[] {
  const { connections, rooms } = options;
  const totalSenders = roomSizes(connections, rooms).reduce(
    (n, size) => n + Math.min(size, sendersPerRoom),
    0,
  );
  const runId = randomBytes(4).toString('hex');
  const isSender = (i: number) => Math.floor(i / rooms) < sendersPerRoom;
  const threads = Math.max(1, Math.floor(options.workers ?? 0));
  const placed = Array.from({ length: threads }, (_, t) =>
    Array.from({ length: connections }, (_, i) => i).filter((i) => i % threads === t),
  ).filter((indices) => indices.length > 0);
  return placed.map((indices): GroupSpec => {
    const senders = indices.filter(isSender).length;
    return {
      url,
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
}

/** What one measured stretch saw, before it becomes a `RelayBenchResult`. */
interface Measured {
  stats: MergedStats;
  elapsed: number;
  relayCpuSeconds: number | undefined;
  generatorCpuMicros: number;
  rssJoined: number | undefined;
}

/** Connect every group, pump for a warm-up, then measure for `seconds`. */
async function measure(
  relay: BenchRelay,
  groups: readonly GroupHandle[],
  seconds: number,
): Promise<Measured> {
  try {
    await Promise.all(groups.map((g) => g.ready));
  } catch (err) {
    await Promise.allSettled(groups.map((g) => g.ready));
    await Promise.all(groups.map((g) => g.abort()));
    throw err;
  }
  const rssJoined = relay.rssBytes();
  for (const g of groups) g.go();
  await sleep(Math.min(1_000, seconds * 200)); // warm up
  for (const g of groups) g.measure();
  // The whole generator process (every thread): process.cpuUsage() is process-wide.
  const generatorCpu = process.cpuUsage();
  const cpuBefore = relay.cpuSeconds();
  const started = performance.now();
  await sleep(seconds * 1000);
  const cpuAfter = relay.cpuSeconds();
  const generatorUsage = process.cpuUsage(generatorCpu);
  const settled = await Promise.allSettled(groups.map((g) => g.finish()));
  const elapsed = (performance.now() - started) / 1000;
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  const stats = settled.map((s) => (s as PromiseFulfilledResult<GroupStats>).value);
  return {
    stats: mergeStats(stats),
    elapsed,
    relayCpuSeconds:
      cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    generatorCpuMicros: generatorUsage.user + generatorUsage.system,
    rssJoined,
  };
}

function toResult(
  options: RelayBenchOptions,
  client: RelayBenchClient,
  sendersPerRoom: number,
  phase: RelayBenchResult['phase'] | undefined,
  m: Measured & { rssBefore: number | undefined },
): RelayBenchResult {
  const { connections, rooms } = options;
  const { deliveries, messages, latencies: sorted, lags } = m.stats;
  const elapsed = m.elapsed;
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
            maxBurst: m.stats.maxBurst,
          },
    rejected: m.stats.rejected,
    relayCpuMicrosPerDelivery:
      m.relayCpuSeconds === undefined || deliveries === 0
        ? undefined
        : (m.relayCpuSeconds * 1e6) / deliveries,
    clientCpuMicrosPerDelivery: m.generatorCpuMicros / Math.max(1, deliveries),
    relayMemoryPerConnectionBytes:
      m.rssBefore === undefined || m.rssJoined === undefined || connections === 0
        ? undefined
        : Math.max(0, m.rssJoined - m.rssBefore) / connections,
    relayRssBytes: m.rssJoined,
  };
}

/** One run: a fresh relay, the clients connected and joined, `seconds` measured. */
export async function runRelayBench(
  options: RelayBenchOptions,
  phase?: RelayBenchResult['phase'],
): Promise<RelayBenchResult> {
  const client = options.client ?? 'raw';
  if (!RELAY_BENCH_CLIENTS.includes(client)) throw new Error(`unknown client ${String(client)}`);
  const perRoom = Math.ceil(options.connections / options.rooms);
  const sendersPerRoom = Math.min(options.sendersPerRoom ?? 2, perRoom);
  const workers = Math.max(0, Math.floor(options.workers ?? 0));
  const relay = await startBenchRelay(options, perRoom);
  const rssBefore = relay.rssBytes();
  try {
    const specs = groupSpecs(options, client, relay.url, sendersPerRoom);
    const groups = specs.map((spec) => (workers > 0 ? workerGroup(spec) : localGroup(spec)));
    const measured = await measure(relay, groups, options.seconds);
    return toResult(options, client, sendersPerRoom, phase, { ...measured, rssBefore });
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

if (isMainThread && import.meta.filename === resolve(process.argv[1] ?? '')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
