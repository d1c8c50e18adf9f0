// `npm run bench -- <suite> [options] [--json FILE]`: join, concurrent, chat, relay, mls.
// Every suite prints a Markdown table on stdout (progress goes to stderr) and, with --json,
// writes `{ suite, machine, params, results, summary }`. See docs/benchmarks/README.md.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeJson } from './common';
import type { TransportKind } from './harness';
import { defaultVerifyThreads, isVerifyThreads } from '../src-main/client/verify-pool';
import { cryptoBackendFromEnv } from '../src-main/host/crypto-choice';
import { cryptoReadyWith } from '../src-main/protocol/crypto';
import type { BenchOutput } from './suite-kit';
import { log, num, UsageError } from './suite-kit';
import { chatSuite } from './suites/chat';
import { concurrentSuite } from './suites/concurrent';
import { joinSuite } from './suites/join';
import { mlsSuite } from './suites/mls';
import { relaySuite } from './suites/relay';

export type { BenchOutput, Target } from './suite-kit';
export { UsageError } from './suite-kit';

export const SUITES = ['join', 'concurrent', 'chat', 'relay', 'mls'] as const;
export type Suite = (typeof SUITES)[number];

const USAGE = `usage: npm run bench -- <suite> [options] [--json FILE]
suites:
  join        build a room one join at a time      --max N (100) --compare mls --plot
              [--mls-max N] [--mls-time-limit S (900)] [--plot-dir DIR (docs/benchmarks)]
              [--workers W: spread the clients over W worker processes]
  concurrent  k simultaneous joiners into n        --n 5,20,50 --k 2,5,10 [--trials T (5)]
  chat        a room of n exchanging messages      --n 20 --m 2000 --rate 500 --rate-seconds 4
              [--window 32] [--probes 4] [--text-bytes 100]
  relay       deliveries through one relay node    --connections 300 --rooms 3 --seconds 5
              [--client raw|socket.io|raw,socket.io (raw)] [--latency-at DELIVERIES (50000)]
              [--rate MSGS] [--workers W] [--in-process]
  mls         the sequential build with ts-mls     --max N (50) [--time-limit S (900)]
common:
  --json FILE           write the report as JSON
  --quick               tiny parameters (CI smoke)
  --transport T         socket (real relay on 127.0.0.1, default), local (in-memory, no network)
                        or parallel (every client on a core of its own: a virtual clock driven by
                        each engine step's measured time, verification inline; see
                        bench/parallel-transport.ts)
  --relay-in-process    run the relay in this process (default: its own process)
  --timeout-ms MS       bound on any single wait (default 120000)
  --latency-ms L        socket and parallel transports: every relay event reaches a client L ms late (a relay
                        across a network; default 0, loopback)
  --relay-us U          parallel transport: the relay's time per recipient of a frame, µs
                        (default 8: socket.io at half saturation in docs/benchmarks/relay.md)
  --relay-batch-ms B    parallel transport: model the relay's write batcher, flushing every B ms
                        (the relay's default 1); a delivery in a batch costs 1.1 µs, a write the rest
  --verify-threads N    join, concurrent, chat: threads verifying signatures ahead of the
                        engines, as the app does (default: cores - 1, at most 4; 0: inline)`;

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
      trials: { type: 'string' },
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
      'latency-ms': { type: 'string' },
      'relay-us': { type: 'string' },
      'relay-batch-ms': { type: 'string' },
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
  if (transportKind !== 'socket' && transportKind !== 'local' && transportKind !== 'parallel') {
    throw new UsageError('--transport is socket, local or parallel');
  }
  const progress = values.quiet ? () => undefined : log;
  const verifyThreads =
    transportKind === 'parallel' ? 0 : num(values, 'verify-threads', defaultVerifyThreads());
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
