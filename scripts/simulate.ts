// `npm run simulate -- --clients N --schedules K --seed S [--jobs J]`: run K random schedules
// through the engine and check the invariants of docs/PROTOCOL.md section 8. Schedules are
// split over J child processes (default: one per core). The last line of output is exactly
// `schedules=K violations=V`; the exit code is non-zero when V > 0.
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { cryptoBackendFromEnv } from '../src-main/host/crypto-choice';
import { cryptoReadyWith } from '../src-main/protocol/crypto';
import type { AdversaryKind } from '../src-main/sim/adversary';
import { ADVERSARY_KINDS } from '../src-main/sim/adversary';
import { randomSchedule, runSchedule, xorshift } from '../src-main/sim/schedule';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '6' },
    schedules: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: String(Math.min(4, availableParallelism())) },
    honest: { type: 'boolean', default: false },
    adversary: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    // internal: run schedules [from, to) and report as JSON on stdout
    slice: { type: 'string' },
  },
});

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const clients = positive('clients', values.clients);
const adversary = values.adversary;
if (
  adversary !== undefined &&
  adversary !== 'mixed' &&
  !ADVERSARY_KINDS.includes(adversary as never)
) {
  console.error(
    `--adversary must be one of ${ADVERSARY_KINDS.join(', ')} or mixed, got ${JSON.stringify(adversary)}`,
  );
  process.exit(2);
}
const schedules = positive('schedules', values.schedules);
const jobs = Math.min(positive('jobs', values.jobs), schedules);

interface Failure {
  index: number;
  seed: string;
  violations: string[];
  actions: string;
}

interface SliceResult {
  failures: Failure[];
  admitted: number;
  admittedInBatch: number;
}

async function runSlice(from: number, to: number): Promise<SliceResult> {
  await cryptoReadyWith(cryptoBackendFromEnv());
  const failures: Failure[] = [];
  let admitted = 0;
  let admittedInBatch = 0;
  for (let k = from; k < to; k++) {
    const seed = `${values.seed}:${k}`;
    const actions = randomSchedule(xorshift(seed), {
      clients,
      misbehaving: !values.honest,
      ...(adversary ? { adversary: adversary as AdversaryKind | 'mixed' } : {}),
    });
    const result = runSchedule(actions, seed);
    admitted += result.admitted;
    admittedInBatch += result.admittedInBatch;
    if (result.violations.length > 0) {
      failures.push({
        index: k,
        seed,
        violations: result.violations,
        actions: JSON.stringify(actions),
      });
    }
  }
  return { failures, admitted, admittedInBatch };
}

if (values.slice) {
  const [from, to] = values.slice.split(':').map(Number) as [number, number];
  process.stdout.write(JSON.stringify(await runSlice(from, to)));
  process.exit(0);
}

const started = performance.now();
const per = Math.ceil(schedules / jobs);
const slices = Array.from(
  { length: jobs },
  (_, j) => [j * per, Math.min(schedules, (j + 1) * per)] as const,
);
const results = await Promise.all(
  slices.map(
    ([from, to]) =>
      new Promise<SliceResult>((resolve, reject) => {
        const args = [...process.argv.slice(2), '--slice', `${from}:${to}`];
        const child = fork(process.argv[1] as string, args, {
          stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
        });
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) => {
          if (code !== 0) reject(new Error(`simulation worker exited with ${code}`));
          else resolve(JSON.parse(out) as SliceResult);
        });
      }),
  ),
);
const failures = results.flatMap((r) => r.failures).sort((a, b) => a.index - b.index);
const admitted = results.reduce((n, r) => n + r.admitted, 0);
const inBatch = results.reduce((n, r) => n + r.admittedInBatch, 0);
for (const f of failures) {
  console.log(`schedule ${f.index} (seed ${f.seed}): ${f.violations.length} violation(s)`);
  for (const v of f.violations.slice(0, 5)) console.log(`  ${v}`);
  if (values.verbose) console.log(`  actions: ${f.actions}`);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `ran ${schedules} schedules of ${clients} clients in ${seconds.toFixed(1)} s on ${jobs} processes`,
);
console.log(`admitted ${admitted} joiners, ${inBatch} of them in a batch session`);
console.log(`schedules=${schedules} violations=${failures.length}`);
process.exit(failures.length > 0 ? 1 : 0);
