// The parallel transport's schedule (bench/parallel-transport.ts): each client is a core of its
// own whose steps last what they measured, the relay orders frames as they reach it, and every
// recipient gets a frame `latencyMs` after the relay. The handlers below burn real CPU for a few
// milliseconds; the assertions are about the virtual clock that results, with bounds that hold
// whatever the machine's speed (a step measures at least the time it burned outside garbage
// collection, which the transport leaves out of every step).
import { GCProfiler } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link, RelayEvent } from '../../bench/harness';
import { ParallelTransport, RELAY_MICROS_CORKED } from '../../bench/parallel-transport';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Burns `ms` of CPU on this thread; returns the time it took, less any garbage collection. */
function burn(ms: number): number {
  const gc = new GCProfiler();
  gc.start();
  const t = performance.now();
  while (performance.now() - t < ms) {
    // spin
  }
  const took = performance.now() - t;
  return took - gc.stop().statistics.reduce((sum, s) => sum + s.cost / 1000, 0);
}

interface Peer {
  link: Link;
  /** Virtual arrival time of each message this peer handled, by text. */
  got: Map<string, number>;
  /** Real time each handled message burned. */
  burned: Map<string, number>;
}

let transport: ParallelTransport;
afterEach(async () => {
  await transport.close();
});

/** A peer that, on `ping:x`, burns `workMs` and answers `pong:x:<nick>`. */
async function peer(nick: string, workMs: number, answer = true): Promise<Peer> {
  const p: Peer = { link: null as unknown as Link, got: new Map(), burned: new Map() };
  p.link = await transport.connect('room', nick, (e: RelayEvent) => {
    if (e.type !== 'message' || !e.data) return;
    const text = dec.decode(e.data);
    p.got.set(text, transport.now());
    if (answer && text.startsWith('ping:') && e.nick !== nick) {
      p.burned.set(text, burn(workMs));
      p.link.send(enc.encode(`pong:${text.slice(5)}:${nick}`));
    }
  });
  await p.link.join();
  return p;
}

describe('the parallel transport (bench/parallel-transport.ts)', () => {
  it('delivers after the latency, and a step’s sends leave when the step ends', async () => {
    transport = new ParallelTransport({ latencyMs: 10, relayMicrosPerDelivery: 0 });
    const a = await peer('a', 0, false);
    const b = await peer('b', 3);
    await transport.settled();
    const t0 = transport.now();
    a.link.send(enc.encode('ping:1'));
    await transport.settled();
    expect((b.got.get('ping:1') as number) - t0).toBeCloseTo(10, 6);
    const pongAt = (a.got.get('pong:1:b') as number) - t0;
    // 10 ms there, b's measured step (at least the 3 ms it burned), 10 ms back.
    expect(pongAt).toBeGreaterThanOrEqual(20 + (b.burned.get('ping:1') as number));
    expect(pongAt).toBeLessThan(20 + 3 + 1_000);
  });

  it('runs different clients’ steps side by side, one client’s steps one after another', async () => {
    transport = new ParallelTransport({ latencyMs: 0, relayMicrosPerDelivery: 0 });
    const a = await peer('a', 0, false);
    const b = await peer('b', 6);
    const c = await peer('c', 6);
    await transport.settled();
    const t0 = transport.now();
    a.link.send(enc.encode('ping:x'));
    a.link.send(enc.encode('ping:y'));
    await transport.settled();
    const at = (text: string) => (a.got.get(text) as number) - t0;
    const burned = (p: Peer, text: string) => p.burned.get(text) as number;
    // c's first answer does not wait for b's: each has a core.
    expect(at('pong:x:c')).toBeLessThan(burned(b, 'ping:x') + burned(c, 'ping:x'));
    expect(at('pong:x:c')).toBeGreaterThanOrEqual(burned(c, 'ping:x'));
    // b's second answer waits for its first step: one core handles its events in order.
    expect(at('pong:y:b')).toBeGreaterThanOrEqual(burned(b, 'ping:x') + burned(b, 'ping:y'));
  });

  it('charges the relay per recipient, one frame after another', async () => {
    transport = new ParallelTransport({ latencyMs: 0, relayMicrosPerDelivery: 500 });
    const a = await peer('a', 0, false);
    const others = await Promise.all(['b', 'c', 'd'].map((n) => peer(n, 0, false)));
    await transport.settled();
    const t0 = transport.now();
    a.link.send(enc.encode('ping:1'));
    a.link.send(enc.encode('ping:2'));
    await transport.settled();
    // Four recipients at 0.5 ms each: the first frame is out at 2 ms, the second at 4 ms.
    for (const p of [a, ...others]) {
      expect((p.got.get('ping:1') as number) - t0).toBeCloseTo(2, 6);
      expect((p.got.get('ping:2') as number) - t0).toBeCloseTo(4, 6);
    }
  });

  it('with the write batcher modelled, a burst leaves in one write per recipient', async () => {
    transport = new ParallelTransport({
      latencyMs: 0,
      relayMicrosPerDelivery: 500,
      relayBatchMs: 1,
    });
    const a = await peer('a', 0, false);
    const others = await Promise.all(['b', 'c', 'd'].map((n) => peer(n, 0, false)));
    await transport.settled();
    // Past the joins' flushes: the next flush may go at the end of the relay's turn.
    transport.setTimer('a', 10, () => {
      for (let i = 1; i <= 3; i++) a.link.send(enc.encode(`burst:${i}`));
    });
    const t0 = transport.now() + 10;
    const started = performance.now();
    while (!others.every((p) => p.got.has('burst:3')) && performance.now() - started < 5_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await transport.settled();
    // Three frames corked for four recipients (1.1 µs each), then one write each (the rest of
    // 500 µs): all three arrive together (each handled after the one before: a few µs apart,
    // where one frame's fan-out alone is 2 ms), right after the step that sent them.
    const corked = (3 * 4 * RELAY_MICROS_CORKED) / 1000;
    const writes = (4 * (500 - RELAY_MICROS_CORKED)) / 1000;
    for (const p of [a, ...others]) {
      const at = [1, 2, 3].map((i) => (p.got.get(`burst:${i}`) as number) - t0);
      expect((at[2] as number) - (at[0] as number)).toBeLessThan(0.5);
      expect(at[0]).toBeGreaterThanOrEqual(corked + writes);
      expect(at[0]).toBeLessThan(corked + writes + 1_000);
    }
    // Without the batcher the same burst costs three whole fan-outs (the test above): 6 ms.
    expect(corked + writes).toBeLessThan(2.1);
  });

  it('with the write batcher modelled, a relay busy flushing writes again only an interval later', async () => {
    transport = new ParallelTransport({ latencyMs: 0, relayMicrosPerDelivery: 0, relayBatchMs: 5 });
    const a = await peer('a', 0, false);
    const b = await peer('b', 0, false);
    await transport.settled();
    transport.setTimer('a', 20, () => a.link.send(enc.encode('first')));
    transport.setTimer('b', 21, () => b.link.send(enc.encode('second')));
    const t0 = transport.now();
    const started = performance.now();
    while (!a.got.has('second') && performance.now() - started < 5_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    // An idle relay flushes at once; the next frame, 1 ms later, waits for the 5 ms interval.
    const first = (a.got.get('first') as number) - t0;
    const second = (a.got.get('second') as number) - t0;
    expect(first).toBeGreaterThanOrEqual(20);
    expect(first).toBeLessThan(21);
    expect(second).toBeCloseTo(first + 5, 1);
  });

  it('fires timers at virtual time, in their client’s queue, and never a cancelled one', async () => {
    transport = new ParallelTransport({ latencyMs: 1, relayMicrosPerDelivery: 0 });
    const a = await peer('a', 0, false);
    await transport.settled();
    const t0 = transport.now();
    let firedAt: number | null = null;
    transport.setTimer('a', 5_000, () => {
      firedAt = transport.now();
      a.link.send(enc.encode('from-timer'));
    });
    const cancel = transport.setTimer('a', 100, () => {
      firedAt = -1;
    });
    cancel();
    const started = performance.now();
    while (!a.got.has('from-timer') && performance.now() - started < 5_000) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((firedAt as number | null) ?? NaN).toBeCloseTo(t0 + 5_000, 6);
    // Sent when the timer's step ended (its measured time), delivered 1 ms later.
    const got = (a.got.get('from-timer') as number) - t0;
    expect(got).toBeGreaterThanOrEqual(5_001);
    expect(got).toBeLessThan(5_001 + 1_000);
    // Five virtual seconds took no five real ones.
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('leaves out of a step the garbage collections that ran during it', async () => {
    transport = new ParallelTransport({ latencyMs: 0, relayMicrosPerDelivery: 0 });
    const a = await peer('a', 0, false);
    let wall = 0;
    const b = await transport.connect('room', 'b', (e: RelayEvent) => {
      if (e.type !== 'message' || e.nick === 'b') return;
      const t = performance.now();
      let keep: number[][] = [];
      for (let i = 0; i < 400_000; i++) {
        keep.push([i, i + 1, i + 2]); // about 20 MB of short-lived arrays: scavenges
        if (keep.length > 2_000) keep = [];
      }
      wall = performance.now() - t;
      b.send(enc.encode(`done:${keep.length}`));
    });
    await b.join();
    await transport.settled();
    const gc0 = transport.gcMs;
    const t0 = transport.now();
    a.link.send(enc.encode('go'));
    await transport.settled();
    const done = [...a.got].find(([text]) => text.startsWith('done:'));
    const step = (done?.[1] as number) - t0;
    const gc = transport.gcMs - gc0;
    expect(gc).toBeGreaterThan(0);
    expect(step).toBeLessThan(wall);
    expect(step).toBeGreaterThanOrEqual(wall - gc);
  });
});
