// Rate limiting: the token bucket itself, and a flooding client held to its own rate while the
// other members carry on undisturbed.
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { TokenBucket, resolveOptions } from '../../src-main/relay/options';
import { TestClient, ok, sleep } from './helpers';

let relay: RunningRelay | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
});

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 100; // one token at 10/s
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 10_000; // refills only up to the burst
    expect(Array.from({ length: 4 }, () => bucket.take())).toEqual([true, true, true, false]);
  });
});

describe('options', () => {
  it('merges nested limits and refuses nonsense', () => {
    const options = resolveOptions({ limits: { burst: 7 }, retention: { count: 9 } });
    expect(options.limits).toMatchObject({ burst: 7, maxPayloadBytes: 65_536 });
    expect(options.retention.count).toBe(9);
    expect(() => resolveOptions({ limits: { eventsPerSecond: 0 } })).toThrow(RangeError);
    expect(() => resolveOptions({ port: 70_000 })).toThrow(RangeError);
    expect(() => resolveOptions({ token: '' })).toThrow(RangeError);
    expect(resolveOptions({}).flushIntervalMs).toBe(1);
    expect(() => resolveOptions({ flushIntervalMs: -1 })).toThrow(RangeError);
    expect(() => resolveOptions({ flushIntervalMs: 51 })).toThrow(RangeError);
  });
});

describe('flooding', () => {
  it('a flooding client is held to its rate and does not delay the others', async () => {
    relay = await startRelay({ limits: { eventsPerSecond: 50, burst: 20 } });
    const url = relay.url;
    const [flooder, alice, bob] = await Promise.all([0, 1, 2].map(() => TestClient.connect(url)));
    if (!flooder || !alice || !bob) throw new Error('clients missing');
    clients.push(flooder, alice, bob);
    const room = 'flood';
    for (const [c, nick] of [
      [flooder, 'flooder'],
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      ok(await c.join({ room, nick }));
    }

    const started = performance.now();
    // 3000 requests in bursts of 100 every 5 ms: ~20,000 requests/s against a limit of 50/s.
    const flood = (async () => {
      const replies = [];
      for (let burst = 0; burst < 30; burst++) {
        replies.push(...Array.from({ length: 100 }, () => flooder.send(room, 'spam')));
        await sleep(5);
      }
      return Promise.all(replies);
    })();

    const latencies: number[] = [];
    for (let k = 0; k < 20; k++) {
      const t0 = performance.now();
      const seq = ok(await alice.send(room, `a${k}`)).seq;
      await bob.untilSeq(room, seq, 2_000);
      latencies.push(performance.now() - t0);
      await sleep(10);
    }
    const replies = await flood;
    const elapsedS = (performance.now() - started) / 1000;

    const accepted = replies.filter((r) => r.ok).length;
    const limited = replies.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED').length;
    expect(accepted + limited).toBe(3000);
    // The flooder got its burst (minus the join) plus the sustained rate, and no more.
    expect(accepted).toBeLessThanOrEqual(19 + Math.ceil(50 * elapsedS) + 1);
    expect(accepted).toBeGreaterThanOrEqual(19);
    // Alice was never limited and her messages were not queued behind the flood: between two of
    // her messages the relay let through no more of the flooder's than its rate allows. (No
    // wall-clock bound here: this machine is shared, and timings belong in `npm run bench`.)
    const aliceSeqs = bob.of(room).filter((e) => e.nick === 'alice' && e.type === 'message');
    expect(aliceSeqs).toHaveLength(20);
    const flooderBetween = aliceSeqs.slice(1).map((e, i) => {
      const from = (aliceSeqs[i] as { seq: number }).seq;
      return bob.of(room).filter((x) => x.nick === 'flooder' && x.seq > from && x.seq < e.seq)
        .length;
    });
    expect(Math.max(...flooderBetween)).toBeLessThanOrEqual(20 + Math.ceil(50 * elapsedS));
    latencies.sort((x, y) => x - y);
    console.log(
      `alice -> bob during the flood: median ${latencies[10]?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`,
    );
    // And everything Bob saw is in order with nothing missing.
    const seqs = bob.of(room).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 0) + i));
  });
});
