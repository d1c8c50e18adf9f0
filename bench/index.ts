// `npm run bench -- <suite> [options] [--json FILE]`: join, concurrent, chat, relay, mls.
// Every suite prints a Markdown table on stdout (progress goes to stderr) and, with --json,
// writes `{ suite, machine, params, results, summary }`. See docs/benchmarks/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join as joinPath, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import type { Machine, Report } from './common';
import { describeMachine, fmt, round, sum, writeJson, ROOT } from './common';
import type { TransportKind } from './harness';
import { BenchRoom, openTransport } from './harness';
import { defaultVerifyThreads, isVerifyThreads } from '../src-main/client/verify-pool';
import type { JoinRecord } from './join';
import { buildRoom, joinTable, summarizeJoins } from './join';
import { buildRoomOnWorkers } from './join-workers';
import type { MlsStep } from './mls';
import { mlsTable, runMls } from './mls';
import { concurrentTable, runConcurrent, summarizeConcurrent } from './concurrent';
import { chatTable, runChat, summarizeChat } from './chat';
import {
  parseClients as parseRelayClients,
  runRelaySeries,
  toMarkdown as relayMarkdown,
} from './relay';
import type { RelayBenchClient, RelayBenchResult } from './relay';
import { lineChart, publishedNPlusOneSec } from './plot';
import { cryptoBackendFromEnv } from '../src-main/host/crypto-choice';
import { cryptoReadyWith } from '../src-main/protocol/crypto';

export const SUITES = ['join', 'concurrent', 'chat', 'relay', 'mls'] as const;
export type Suite = (typeof SUITES)[number];

/** The relay's throughput target (issue 3): deliveries per second from one node. */
const TARGET_DELIVERIES = 100_000;

const USAGE = `usage: npm run bench -- <suite> [options] [--json FILE]
suites:
  join        build a room one join at a time      --max N (100) --compare mls --plot
              [--mls-max N] [--mls-time-limit S (900)] [--plot-dir DIR (docs/benchmarks)]
              [--workers W: spread the clients over W worker processes]
  concurrent  k simultaneous joiners into n        --n 5,20,50 --k 2,5,10
  chat        a room of n exchanging messages      --n 20 --m 2000 --rate 500 --rate-seconds 4
              [--window 32] [--probes 4] [--text-bytes 100]
  relay       deliveries through one relay node    --connections 300 --rooms 3 --seconds 5
              [--client raw|socket.io|raw,socket.io (raw)] [--latency-at DELIVERIES (50000)]
              [--rate MSGS] [--workers W] [--in-process]
  mls         the sequential build with ts-mls     --max N (50) [--time-limit S (900)]
common:
  --json FILE           write the report as JSON
  --quick               tiny parameters (CI smoke)
  --transport T         socket (real relay on 127.0.0.1, default) or local (in-memory, no network)
  --relay-in-process    run the relay in this process (default: its own process)
  --timeout-ms MS       bound on any single wait (default 120000)
  --verify-threads N    join, concurrent, chat: threads verifying signatures ahead of the
                        engines, as the app does (default: cores - 1, at most 4; 0: inline)`;

export interface Target {
  measure: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface BenchOutput {
  report: Report;
  markdown: string;
}

type Values = Record<string, string | boolean | undefined>;

function num(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} needs a number`);
  return n;
}

function list(values: Values, name: string, fallback: number[]): number[] {
  const raw = values[name];
  if (typeof raw !== 'string') return fallback;
  const out = raw.split(',').map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(`--${name} needs whole numbers`);
  }
  return out;
}

export class UsageError extends Error {}

function targetsTable(targets: readonly Target[]): string {
  const rows = targets.map(
    (t) =>
      `| ${t.measure} | ${t.target} | ${t.value} | ${t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED'} |`,
  );
  return ['| target | wanted | measured | |', '|---|---|---|---|', ...rows].join('\n');
}

/** A --quick run is a smoke run: its numbers are not judged against the targets. */
function judged(targets: Target[], quick: boolean): Target[] {
  return quick ? targets.map((t) => ({ ...t, met: null })) : targets;
}

function finish(machine: Machine): Machine & { loadAverageAtEnd: number[] } {
  return { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) };
}

const threadsLabel = (threads: number) =>
  threads === 0
    ? 'signatures verified inline'
    : `${threads} verify thread${threads > 1 ? 's' : ''}`;

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function runBench(argv: string[]): Promise<BenchOutput> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      transport: { type: 'string' },
      'relay-in-process': { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      max: { type: 'string' },
      compare: { type: 'string' },
      'mls-max': { type: 'string' },
      'mls-time-limit': { type: 'string' },
      'time-limit': { type: 'string' },
      plot: { type: 'boolean', default: false },
      'plot-dir': { type: 'string' },
      n: { type: 'string' },
      k: { type: 'string' },
      m: { type: 'string' },
      rate: { type: 'string' },
      'rate-seconds': { type: 'string' },
      window: { type: 'string' },
      probes: { type: 'string' },
      'text-bytes': { type: 'string' },
      connections: { type: 'string' },
      rooms: { type: 'string' },
      seconds: { type: 'string' },
      workers: { type: 'string' },
      client: { type: 'string' },
      'latency-at': { type: 'string' },
      'in-process': { type: 'boolean', default: false },
      'verify-threads': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const suite = positionals[0] as Suite | undefined;
  if (values.help || !suite) throw new UsageError(USAGE);
  if (!SUITES.includes(suite)) throw new UsageError(`unknown suite ${suite}\n${USAGE}`);
  await cryptoReadyWith(cryptoBackendFromEnv());
  const quick = values.quick;
  const timeoutMs = num(values, 'timeout-ms', 120_000);
  const transportKind = (values.transport ?? 'socket') as TransportKind;
  if (transportKind !== 'socket' && transportKind !== 'local') {
    throw new UsageError('--transport is socket or local');
  }
  const progress = values.quiet ? () => undefined : log;
  const verifyThreads = num(values, 'verify-threads', defaultVerifyThreads());
  if (!isVerifyThreads(verifyThreads)) {
    throw new UsageError('--verify-threads takes a whole number from 0 to 64');
  }

  let output: BenchOutput;
  switch (suite) {
    case 'join':
      output = await joinSuite(values, {
        quick,
        timeoutMs,
        transportKind,
        progress,
        verifyThreads,
      });
      break;
    case 'concurrent':
      output = await concurrentSuite(values, {
        quick,
        timeoutMs,
        transportKind,
        progress,
        verifyThreads,
      });
      break;
    case 'chat':
      output = await chatSuite(values, {
        quick,
        timeoutMs,
        transportKind,
        progress,
        verifyThreads,
      });
      break;
    case 'relay':
      output = await relaySuite(values, quick);
      break;
    case 'mls':
      output = await mlsSuite(values, quick, progress);
      break;
  }
  if (typeof values.json === 'string') writeJson(values.json, output.report);
  return output;
}

interface Common {
  quick: boolean;
  timeoutMs: number;
  transportKind: TransportKind;
  progress: (line: string) => void;
  /** Verify pool threads in this process (0: every engine verifies inline). */
  verifyThreads: number;
}

async function withTransport<T>(
  values: Values,
  c: Common,
  maxMembers: number,
  run: (t: Awaited<ReturnType<typeof openTransport>>) => Promise<T>,
): Promise<T> {
  const transport = await openTransport({
    kind: c.transportKind,
    relayInProcess: values['relay-in-process'] === true,
    maxMembersPerRoom: maxMembers,
    verifyThreads: c.verifyThreads,
  });
  try {
    return await run(transport);
  } finally {
    await transport.close();
  }
}

async function joinSuite(values: Values, c: Common): Promise<BenchOutput> {
  const max = Math.max(1, Math.floor(num(values, 'max', c.quick ? 6 : 100)));
  const compare = values.compare;
  if (compare !== undefined && compare !== 'mls') throw new UsageError('--compare takes mls');
  const mlsMax = Math.floor(num(values, 'mls-max', max));
  const mlsTimeLimit = num(values, 'mls-time-limit', 900);
  const workers = Math.floor(num(values, 'workers', 0));
  if (workers > 0 && (c.transportKind !== 'socket' || values['relay-in-process'])) {
    throw new UsageError('--workers needs the socket transport with the relay in its own process');
  }
  const machine = describeMachine();
  const params = {
    max,
    workers,
    verifyThreads: workers > 0 ? 0 : c.verifyThreads,
    transport: c.transportKind,
    relay: values['relay-in-process'] ? 'in-process' : 'child process',
    compare: compare ?? null,
    mlsMax: compare ? mlsMax : null,
    mlsTimeLimitSeconds: compare ? mlsTimeLimit : null,
  };

  const onJoin = (r: JoinRecord) => {
    if (r.n % 10 === 0 || r.n === max) {
      c.progress(`join n=${r.n} ${fmt(r.seconds, 3)} s, CPU/member ${fmt(r.cpuPerMemberMs, 2)} ms`);
    }
  };
  const records =
    workers > 0
      ? await buildRoomOnWorkers(max, { workers, timeoutMs: c.timeoutMs, onJoin })
      : await withTransport(values, c, max + 5, async (transport) => {
          const room = new BenchRoom(transport, `join-${Date.now().toString(36)}`);
          try {
            return await buildRoom(room, max, { timeoutMs: c.timeoutMs, onJoin });
          } finally {
            room.close();
          }
        });
  const summary: Record<string, unknown> = { ...summarizeJoins(records) };
  let mlsSteps: MlsStep[] | null = null;
  if (compare === 'mls') {
    const mls = await runMls({
      max: mlsMax,
      timeLimitSeconds: mlsTimeLimit,
      onStep: (s) => {
        if (s.n % 10 === 0 || s.n === mlsMax) c.progress(`mls n=${s.n} ${fmt(s.addSeconds, 3)} s`);
      },
    });
    mlsSteps = mls.steps;
    const reached = mls.summary.reached;
    const sameN = records.filter((r) => r.n <= reached);
    const conclaveSameN = sum(sameN.map((r) => r.seconds));
    const conclaveAtReached = records.find((r) => r.n === reached);
    Object.assign(summary, {
      mlsTotalSeconds: mls.summary.totalSeconds,
      mlsLastAddSeconds: mls.summary.lastAddSeconds,
      mlsReached: reached,
      mlsTruncated: mls.summary.truncated,
      mlsLastPerExistingMemberMs: mls.summary.lastPerExistingMemberMs,
      conclaveTotalSecondsAtMlsN: round(conclaveSameN, 3),
      mlsOverConclaveTotal: round(mls.summary.totalSeconds / conclaveSameN, 2),
      mlsOverConclaveLastJoin: conclaveAtReached
        ? round(mls.summary.lastAddSeconds / conclaveAtReached.seconds, 2)
        : null,
    });
  }
  const s = summary as ReturnType<typeof summarizeJoins> & Record<string, number | null>;
  const targets: Target[] = judged(
    [
      {
        measure: 'build a room of 100, one process',
        target: '< 60 s',
        value: `${fmt(s.totalSeconds, 1)} s to ${s.members}${workers > 0 ? ` over ${workers} worker processes (not judged)` : ''}`,
        met: s.members >= 100 && workers === 0 ? s.totalSeconds < 60 : null,
      },
      {
        measure: 'faster than ts-mls in the same run',
        target: '>= 5x',
        value:
          s['mlsOverConclaveTotal'] === undefined
            ? 'not compared'
            : `${fmt(s['mlsOverConclaveTotal'] as number, 1)}x (to ${s['mlsReached']})`,
        met:
          s['mlsOverConclaveTotal'] === undefined || s.members < 100 || workers > 0
            ? null
            : (s['mlsOverConclaveTotal'] as number) >= 5,
      },
      {
        measure: 'CPU per member, 100th join',
        target: '<= 25 ms',
        value: `${fmt(s.cpuPerMemberMs, 2)} ms (n = ${s.members})`,
        met: s.members === 100 ? s.cpuPerMemberMs <= 25 : null,
      },
    ],
    c.quick,
  );
  summary['targets'] = targets;

  if (values.plot) {
    const dir = resolve(ROOT, String(values['plot-dir'] ?? 'docs/benchmarks'));
    writeJoinPlots(dir, records, mlsSteps, machine);
    c.progress(`charts written to ${dir}`);
  }

  const parts = [
    `## join: one join at a time to ${max} (${c.transportKind} transport${workers > 0 ? `, clients over ${workers} worker processes` : `, ${threadsLabel(c.verifyThreads)}`})`,
    joinTable(records),
  ];
  if (mlsSteps) parts.push(`### ts-mls, same command`, mlsTable(mlsSteps));
  parts.push(
    '### summary',
    Object.entries(summary)
      .filter(([k]) => k !== 'targets')
      .map(([k, v]) => `- ${k}: ${String(v)}`)
      .join('\n'),
    targetsTable(targets),
  );
  return {
    report: {
      suite: 'join',
      machine: finish(machine),
      params,
      results: { conclave: records, mls: mlsSteps },
      summary,
    },
    markdown: parts.join('\n\n'),
  };
}

export function writeJoinPlots(
  dir: string,
  records: readonly JoinRecord[],
  mls: readonly MlsStep[] | null,
  machine: Machine,
): void {
  mkdirSync(dir, { recursive: true });
  const note = `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date.slice(0, 10)}`;
  const conclave = { name: 'Conclave (this run)', color: '#1f77b4' };
  const tsmls = { name: 'ts-mls, MLS ciphersuite 1 (this run)', color: '#d62728' };
  const series = [
    { ...conclave, points: records.map((r) => [r.n, r.seconds] as const) },
    ...(mls ? [{ ...tsmls, points: mls.map((s) => [s.n, s.addSeconds] as const) }] : []),
    {
      name: '(n+1)sec, published (6 cores, XMPP)',
      color: '#7f7f7f',
      dashed: true,
      points: publishedNPlusOneSec(records.length),
    },
  ];
  writeFileSync(
    joinPath(dir, 'join-time.svg'),
    lineChart({
      title: 'Time of the n-th join (all clients in one process)',
      xLabel: 'n (room size after the join)',
      yLabel: 'seconds',
      series,
      note,
    }),
  );
  const cumulative = (points: readonly (readonly [number, number])[]) => {
    let acc = 0;
    return points.map(([n, s]) => {
      acc += s;
      return [n, acc] as const;
    });
  };
  writeFileSync(
    joinPath(dir, 'join-total.svg'),
    lineChart({
      title: 'Time to build a room of n, one join at a time',
      xLabel: 'n',
      yLabel: 'seconds (cumulative)',
      series: [
        { ...conclave, points: cumulative(records.map((r) => [r.n, r.seconds] as const)) },
        ...(mls
          ? [{ ...tsmls, points: cumulative(mls.map((s) => [s.n, s.addSeconds] as const)) }]
          : []),
      ],
      note,
    }),
  );
  writeFileSync(
    joinPath(dir, 'join-cpu.svg'),
    lineChart({
      title: 'Work per member for the n-th join',
      xLabel: 'n',
      yLabel: 'milliseconds',
      series: [
        {
          name: 'Conclave, engine time per member (mean)',
          color: '#1f77b4',
          points: records.map((r) => [r.n, r.cpuPerMemberMs] as const),
        },
        {
          name: 'Conclave, the joiner',
          color: '#17becf',
          dashed: true,
          points: records.map((r) => [r.n, r.joinerCpuMs] as const),
        },
        ...(mls
          ? [
              {
                name: 'ts-mls, processing the commit, per existing member',
                color: '#d62728',
                points: mls
                  .filter((s) => s.n > 2)
                  .map((s) => [s.n, s.perExistingMemberMs] as const),
              },
            ]
          : []),
      ],
      note,
    }),
  );
}

async function concurrentSuite(values: Values, c: Common): Promise<BenchOutput> {
  const ns = list(values, 'n', c.quick ? [3] : [5, 20, 50]);
  const ks = list(values, 'k', c.quick ? [2] : [2, 5, 10]);
  const machine = describeMachine();
  const records = await withTransport(
    values,
    c,
    Math.max(...ns) + Math.max(...ks) + 5,
    (transport) =>
      runConcurrent(transport, {
        ns,
        ks,
        timeoutMs: c.timeoutMs,
        onCell: (r) =>
          c.progress(`concurrent n=${r.n} k=${r.k}: ${fmt(r.seconds, 3)} s, ratio ${fmt(r.ratio)}`),
      }),
  );
  const summary = summarizeConcurrent(records);
  const target = records.find((r) => r.n === 20 && r.k === 10);
  const targets: Target[] = judged(
    [
      {
        measure: 'k = 10 simultaneous joiners into n = 20',
        target: 'all admitted, <= 10x a single join',
        value: target
          ? `${target.allAdmitted ? 'all admitted' : 'NOT all admitted'}, ${fmt(target.ratio, 1)}x`
          : 'not run',
        met: target ? target.allAdmitted && target.ratio <= 10 : null,
      },
    ],
    c.quick,
  );
  return {
    report: {
      suite: 'concurrent',
      machine: finish(machine),
      params: { ns, ks, transport: c.transportKind, verifyThreads: c.verifyThreads },
      results: records,
      summary: { ...summary, targets },
    },
    markdown: [
      `## concurrent: k joiners at once into a room of n (${c.transportKind} transport, ${threadsLabel(c.verifyThreads)})`,
      concurrentTable(records),
      targetsTable(targets),
    ].join('\n\n'),
  };
}

async function chatSuite(values: Values, c: Common): Promise<BenchOutput> {
  const params = {
    n: Math.floor(num(values, 'n', c.quick ? 3 : 20)),
    m: Math.floor(num(values, 'm', c.quick ? 20 : 2000)),
    rate: num(values, 'rate', c.quick ? 100 : 500),
    rateSeconds: num(values, 'rate-seconds', c.quick ? 0.3 : 4),
    window: Math.floor(num(values, 'window', 32)),
    probes: Math.floor(num(values, 'probes', 4)),
    textBytes: Math.floor(num(values, 'text-bytes', 100)),
  };
  if (params.n < 2) throw new UsageError('--n must be at least 2');
  const machine = describeMachine();
  const result = await withTransport(values, c, params.n + 5, (transport) =>
    runChat(transport, { ...params, timeoutMs: c.timeoutMs }),
  );
  const summary = summarizeChat(params.n, params.rate, result.phases);
  const applies = params.n === 20;
  const targets: Target[] = judged(
    [
      {
        measure: 'verified and decrypted per second per receiver, room of 20',
        target: '>= 3,000/s',
        value: `${summary.verifyDecryptPerSecond.toLocaleString('en-US')}/s (n = ${params.n})`,
        met: applies ? summary.verifyDecryptPerSecond >= 3000 : null,
      },
      {
        measure: 'p99 latency at 500 msg/s, room of 20',
        target: '< 50 ms',
        value: `${fmt(summary.p99AtRateMs)} ms at ${params.rate}/s (n = ${params.n})`,
        met: applies && params.rate >= 500 ? summary.p99AtRateMs < 50 : null,
      },
    ],
    c.quick,
  );
  return {
    report: {
      suite: 'chat',
      machine: finish(machine),
      params: { ...params, transport: c.transportKind, verifyThreads: c.verifyThreads },
      results: { buildSeconds: result.build, phases: result.phases },
      summary: { ...summary, targets },
    },
    markdown: [
      `## chat: a room of ${params.n} (${c.transportKind} transport, ${threadsLabel(c.verifyThreads)})`,
      chatTable(result.phases),
      targetsTable(targets),
    ].join('\n\n'),
  };
}

async function relaySuite(values: Values, quick: boolean): Promise<BenchOutput> {
  let clients: RelayBenchClient[];
  try {
    clients = parseRelayClients(typeof values.client === 'string' ? values.client : undefined);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const base = {
    connections: Math.floor(num(values, 'connections', quick ? 12 : 300)),
    rooms: Math.floor(num(values, 'rooms', 3)),
    seconds: Math.min(60, num(values, 'seconds', quick ? 0.5 : 5)),
    workers: Math.floor(num(values, 'workers', 0)),
    inProcess: values['in-process'] === true,
    rate: values.rate === undefined ? undefined : num(values, 'rate', 0),
  };
  const latencyAt = num(values, 'latency-at', quick ? 2_000 : TARGET_DELIVERIES / 2);
  const params = { ...base, clients, latencyAtDeliveries: latencyAt };
  const machine = describeMachine();
  const results = await runRelaySeries(base, { clients, latencyAtDeliveries: latencyAt });
  // The first generator listed is the headline; the others are there to compare with.
  const primary = clients[0] ?? 'raw';
  const mine = results.filter((r) => r.client === primary);
  const saturated = mine.find((r) => r.phase === 'saturate');
  const best = Math.max(...mine.map((r) => r.deliveriesPerSecond));
  const half = mine.find((r) => r.phase === 'half-saturation');
  const atTarget =
    mine.find((r) => r.phase === 'deliveries') ?? mine.find((r) => r.phase === 'rate');
  const latency = atTarget ?? half ?? mine[0];
  const memory = mine.find((r) => r.relayMemoryPerConnectionBytes !== undefined);
  const brief = (r: RelayBenchResult | undefined) =>
    r && {
      client: r.client,
      messagesPerSecond: round(r.messagesPerSecond, 1),
      deliveriesPerSecond: Math.round(r.deliveriesPerSecond),
      p50Ms: round(r.latencyMs.p50, 2),
      p99Ms: round(r.latencyMs.p99, 2),
      relayCpuMicrosPerDelivery:
        r.relayCpuMicrosPerDelivery === undefined ? null : round(r.relayCpuMicrosPerDelivery, 2),
      generatorCpuMicrosPerDelivery: round(r.clientCpuMicrosPerDelivery, 2),
    };
  const offered = latency?.offeredDeliveriesPerSecond;
  // Judged only at the target's own load, and only if the generator really offered it.
  const p99Applies = latency?.phase === 'deliveries' && offered === TARGET_DELIVERIES / 2;
  const p99Reached = !!latency && latency.deliveriesPerSecond >= 0.95 * (TARGET_DELIVERIES / 2);
  const summary = {
    client: primary,
    deliveriesPerSecond: Math.round(best),
    p50Ms: round(latency?.latencyMs.p50 ?? 0, 2),
    p99Ms: round(latency?.latencyMs.p99 ?? 0, 2),
    latencyAt:
      latency?.mode === 'rate'
        ? `${Math.round(latency.offeredRate ?? 0)} msg/s (${Math.round(offered ?? 0)} deliveries/s)`
        : 'saturation',
    saturation: brief(saturated),
    halfSaturation: brief(half),
    atDeliveries: brief(atTarget),
    memoryPerConnectionBytes: memory
      ? Math.round(memory.relayMemoryPerConnectionBytes as number)
      : null,
    relayCpuMicrosPerDelivery: saturated?.relayCpuMicrosPerDelivery ?? null,
    comparison: clients.slice(1).map((client) => ({
      client,
      saturation: brief(results.find((r) => r.client === client && r.phase === 'saturate')),
      halfSaturation: brief(
        results.find((r) => r.client === client && r.phase === 'half-saturation'),
      ),
      atDeliveries: brief(results.find((r) => r.client === client && r.phase === 'deliveries')),
    })),
    targets: judged(
      [
        {
          measure: 'deliveries per second from one node',
          target: '>= 100,000/s',
          value: `${Math.round(best).toLocaleString('en-US')}/s`,
          met: best >= TARGET_DELIVERIES,
        },
        {
          measure: 'p99 latency at 50,000 deliveries/s (half of 100k)',
          target: '< 20 ms',
          value: latency
            ? `${fmt(latency.latencyMs.p99)} ms at ${Math.round(latency.deliveriesPerSecond).toLocaleString('en-US')}/s`
            : 'not run',
          met: p99Applies ? p99Reached && (latency?.latencyMs.p99 ?? Infinity) < 20 : null,
        },
      ],
      quick,
    ),
  };
  return {
    report: { suite: 'relay', machine: finish(machine), params, results, summary },
    markdown: [
      `## relay: ${base.connections} connections over ${base.rooms} rooms`,
      relayMarkdown(results),
      targetsTable(summary.targets),
    ].join('\n\n'),
  };
}

async function mlsSuite(
  values: Values,
  quick: boolean,
  progress: (line: string) => void,
): Promise<BenchOutput> {
  const max = Math.max(1, Math.floor(num(values, 'max', quick ? 4 : 50)));
  const timeLimit = num(values, 'time-limit', 900);
  const machine = describeMachine();
  const mls = await runMls({
    max,
    timeLimitSeconds: timeLimit,
    onStep: (s) => {
      if (s.n % 10 === 0) progress(`mls n=${s.n} ${fmt(s.addSeconds, 3)} s`);
    },
  });
  return {
    report: {
      suite: 'mls',
      machine: finish(machine),
      params: { max, timeLimitSeconds: timeLimit, ciphersuite: mls.summary.ciphersuite },
      results: mls.steps,
      summary: mls.summary,
    },
    markdown: [
      `## mls: ts-mls sequential build to ${max} (${mls.summary.ciphersuite})`,
      mlsTable(mls.steps),
      Object.entries(mls.summary)
        .map(([k, v]) => `- ${k}: ${String(v)}`)
        .join('\n'),
    ].join('\n\n'),
  };
}

async function main(): Promise<void> {
  try {
    const { markdown } = await runBench(process.argv.slice(2));
    console.log(markdown);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
