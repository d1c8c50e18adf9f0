import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cryptoReady } from '../../src-main/protocol/crypto';
import type { Action } from '../../src-main/sim/schedule';
import { ADVERSARY_KINDS } from '../../src-main/sim/adversary';
import { randomSchedule, runSchedule, xorshift } from '../../src-main/sim/schedule';

beforeAll(cryptoReady);

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      count: fc.integer({ min: 1, max: 25 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('chat' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('disconnect' as const), pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('leave' as const),
      pick: fc.nat(),
      listen: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('wait' as const),
      ms: fc.integer({ min: 0, max: 8_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      pick: fc.nat(),
      bytes: fc.nat({ max: 200 }),
    }),
  },
);

/** Up to 10 clients joining with joins, leaves, chat, disconnects and a misbehaving client. */
const schedule = fc
  .tuple(
    fc.integer({ min: 2, max: 10 }),
    fc.array(action, { maxLength: 30 }),
    fc.constantFrom('honest', 'silent', 'noisy'),
  )
  .map(([clients, noise, odd]): Action[] => {
    const out: Action[] = [];
    for (let i = 0; i < clients; i++) {
      const behaviour =
        i === clients - 1 && clients > 2 ? (odd as 'honest' | 'silent' | 'noisy') : 'honest';
      out.push({ kind: 'join', name: `c${i}`, behaviour });
      out.push(...noise.slice(i * 3, i * 3 + 3));
    }
    return out;
  });

describe('invariants of PROTOCOL.md section 8 over random schedules', () => {
  it('hold for every generated schedule', () => {
    fc.assert(
      fc.property(schedule, fc.string({ maxLength: 6 }), (actions, seed) => {
        const result = runSchedule(actions, `prop:${seed}`);
        expect(result.violations).toEqual([]);
      }),
      { numRuns: 40, seed: 20261124 },
    );
  }, 120_000);
});

describe('issue 11: one adversary among honest clients', () => {
  for (const kind of ADVERSARY_KINDS) {
    it(`${kind}: converges, nobody honest blamed, every change within the bound`, () => {
      for (let k = 0; k < 6; k++) {
        const seed = `adversary:${kind}:${k}`;
        const actions = randomSchedule(xorshift(seed), { clients: 7, adversary: kind });
        expect(runSchedule(actions, seed).violations, seed).toEqual([]);
      }
    }, 120_000);
  }
});
