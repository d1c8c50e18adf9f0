// `npm run simulate -- --clients N --schedules K --seed S`: run K random schedules through the
// engine and check the invariants of docs/PROTOCOL.md section 8. The last line of output is
// exactly `schedules=K violations=V`; the exit code is non-zero when V > 0.
import { parseArgs } from 'node:util';
import { cryptoReady } from '../src-main/protocol/crypto';
import { randomSchedule, runSchedule } from '../src-main/sim/schedule';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '6' },
    schedules: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    honest: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
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
const schedules = positive('schedules', values.schedules);
await cryptoReady();

let violations = 0;
const started = performance.now();
for (let k = 0; k < schedules; k++) {
  const seed = `${values.seed}:${k}`;
  let x = 0;
  for (const ch of seed) x = (Math.imul(x, 31) + ch.charCodeAt(0)) >>> 0;
  let state = x || 1;
  const random = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
  const actions = randomSchedule(random, { clients, seed, misbehaving: !values.honest });
  const result = runSchedule(actions, seed);
  if (result.violations.length > 0) {
    violations++;
    console.log(`schedule ${k} (seed ${seed}): ${result.violations.length} violation(s)`);
    for (const v of result.violations.slice(0, 5)) console.log(`  ${v}`);
    if (values.verbose) console.log(JSON.stringify(actions));
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`ran ${schedules} schedules of ${clients} clients in ${seconds.toFixed(1)} s`);
console.log(`schedules=${schedules} violations=${violations}`);
process.exit(violations > 0 ? 1 : 0);
