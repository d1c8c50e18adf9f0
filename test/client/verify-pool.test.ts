// Verification ahead of the engine on worker threads (src-main/client/verify-pool.ts): real
// worker threads, real libsodium. Whatever the pool does, the engine must accept exactly what a
// full inline verification accepts.
import { afterEach, describe, expect, it } from 'vitest';
import {
  InOrder,
  VerifyPool,
  verifyAhead,
  type VerifyJob,
  type VerifyTicket,
} from '../../src-main/client/verify-pool';
import { Crypto, cryptoReady, seededRandom } from '../../src-main/protocol/crypto';
import { asNick } from '../../src-main/protocol/types';

await cryptoReady();

const pools: VerifyPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function startPool(threads = 1, maxBatch?: number): VerifyPool {
  const pool = VerifyPool.start({ threads, ...(maxBatch ? { maxBatch } : {}) });
  if (!pool) throw new Error('sodium-native is a dependency: the pool must start');
  pools.push(pool);
  return pool;
}

const signer = new Crypto(seededRandom('verify-pool-signer'));
const keys = signer.signKeyPair();

function signedJob(text: string): VerifyJob {
  const message = new TextEncoder().encode(text);
  return { message, signature: signer.sign(message, keys.secretKey), publicKey: keys.publicKey };
}

function settled(ticket: VerifyTicket): Promise<void> {
  return new Promise((resolve) => ticket.whenSettled(resolve));
}

describe('VerifyPool', () => {
  it('answers true for good signatures and false for altered bytes, keys or signatures', async () => {
    const pool = startPool(2);
    const good = signedJob('CHAT hello');
    const otherKey = new Crypto(seededRandom('verify-pool-other')).signKeyPair().publicKey;
    const altered = good.message.slice();
    altered[0] = (altered[0] ?? 0) ^ 1;
    const badSignature = good.signature.slice();
    badSignature[10] = (badSignature[10] ?? 0) ^ 1;
    const jobs: [VerifyJob, boolean][] = [
      [good, true],
      [{ ...good, message: altered }, false],
      [{ ...good, publicKey: otherKey }, false],
      [{ ...good, signature: badSignature }, false],
      [{ ...good, publicKey: new Uint8Array(32) }, false], // not a point: refused, no throw
      [signedJob(''), true],
      [signedJob('x'.repeat(70_000)), true],
    ];
    const outcomes = await Promise.all(
      jobs.map(
        ([job]) =>
          new Promise((resolve) => {
            const ticket = pool.submit(job, resolve);
            expect(ticket).not.toBeNull();
          }),
      ),
    );
    expect(outcomes.map((o) => (o as { ok: boolean }).ok)).toEqual(jobs.map(([, ok]) => ok));
    for (const o of outcomes) expect((o as { micros: number }).micros).toBeGreaterThan(0);
    expect(pool.stats).toMatchObject({ threads: 2, jobs: 7, verified: 7, failedSignatures: 4 });
  });

  it('gives workers the newest jobs and lets the host take back the ones not sent yet', async () => {
    const pool = startPool(1, 4);
    const tickets = Array.from({ length: 40 }, (_, i) => {
      const ticket = pool.submit(signedJob(`frame ${i}`), () => undefined);
      if (!ticket) throw new Error('closed');
      return ticket;
    });
    // Nothing is sent before the current task ends: the host can take any job back.
    expect(tickets.every((t) => t.state === 'queued')).toBe(true);
    expect(tickets[0]?.steal()).toBe(true);
    expect(tickets[0]?.steal()).toBe(false);
    await Promise.resolve(); // the pool's microtask sends four batches of 4, newest first
    expect(tickets.slice(24).every((t) => t.state === 'sent')).toBe(true);
    expect(tickets.slice(1, 24).every((t) => t.state === 'queued')).toBe(true);
    // The host works from the front while the worker works from the back.
    for (const t of tickets.slice(1, 20)) expect(t.steal()).toBe(true);
    await Promise.all(tickets.slice(20).map(settled));
    expect(tickets.slice(20).every((t) => t.state === 'settled' && t.outcome?.ok)).toBe(true);
    expect(tickets.slice(0, 20).every((t) => t.state === 'stolen' && t.outcome === null)).toBe(
      true,
    );
    expect(pool.stats).toMatchObject({ jobs: 40, stolen: 20, verified: 20, dropped: 0 });
  });

  it('settles pending jobs with null when it closes, and takes none after', async () => {
    const pool = startPool(1, 2);
    const outcomes: unknown[] = [];
    const tickets = Array.from({ length: 10 }, (_, i) =>
      pool.submit(signedJob(`late ${i}`), (o) => outcomes.push(o)),
    );
    await pool.close();
    expect(tickets.every((t) => t?.state === 'settled' && t.outcome === null)).toBe(true);
    expect(outcomes).toEqual(Array(10).fill(null));
    expect(pool.stats.dropped).toBe(10);
    expect(pool.submit(signedJob('after'), () => undefined)).toBeNull();
  });

  it('survives a worker that dies: its jobs settle with null and the others go on', async () => {
    const errors: Error[] = [];
    const pool = VerifyPool.start({ threads: 2, onError: (e) => errors.push(e) });
    if (!pool) throw new Error('no pool');
    pools.push(pool);
    // Kill one worker from outside, as a crash would.
    const lanes = (pool as unknown as { lanes: { worker: { terminate(): Promise<number> } }[] })
      .lanes;
    await lanes[0]?.worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toHaveLength(1);
    expect(pool.stats.threads).toBe(1);
    const ticket = pool.submit(signedJob('still served'), () => undefined);
    if (!ticket) throw new Error('the surviving worker should take jobs');
    await settled(ticket);
    expect(ticket.outcome?.ok).toBe(true);
  });

  it('refuses a nonsensical thread count and starts nothing for 0', () => {
    expect(() => VerifyPool.start({ threads: -1 })).toThrow(RangeError);
    expect(() => VerifyPool.start({ threads: 1.5 })).toThrow(RangeError);
    expect(VerifyPool.start({ threads: 0 })).toBeNull();
  });
});

describe('verifyAhead with a Crypto', () => {
  const nick = asNick('bob');

  it('a worker-verified frame is accepted once without a second libsodium call', async () => {
    const pool = startPool();
    const crypto = new Crypto(seededRandom('verify-ahead-receiver'));
    const job = signedJob('SESSION_CONFIRMATION');
    const micros: number[] = [];
    const ticket = verifyAhead(pool, { signerFor: () => job }, crypto, nick, job.message, (m) =>
      micros.push(m),
    );
    if (!ticket) throw new Error('expected a ticket');
    await settled(ticket);
    expect(micros).toHaveLength(1);
    expect(crypto.verify(job.signature, job.message, job.publicKey)).toBe(true);
    expect(crypto.counters).toMatchObject({ verify: 1, verifyOffThread: 1 });
    // Used up: the same frame again is verified inline.
    expect(crypto.verify(job.signature, job.message, job.publicKey)).toBe(true);
    expect(crypto.counters).toMatchObject({ verify: 2, verifyOffThread: 1 });
  });

  it('never lets a pool answer stand for other bytes or another key', async () => {
    const pool = startPool();
    const crypto = new Crypto(seededRandom('verify-ahead-strict'));
    const job = signedJob('PARTICIPANTS_INFO');
    const ticket = verifyAhead(pool, { signerFor: () => job }, crypto, nick, job.message);
    if (!ticket) throw new Error('expected a ticket');
    await settled(ticket);
    const altered = job.message.slice();
    altered[3] = (altered[3] ?? 0) ^ 1;
    const otherKey = new Crypto(seededRandom('verify-ahead-k')).signKeyPair().publicKey;
    expect(crypto.verify(job.signature, altered, job.publicKey)).toBe(false);
    expect(crypto.verify(job.signature, job.message, otherKey)).toBe(false);
    expect(crypto.counters.verifyOffThread).toBe(0);
  });

  it('a forged frame is not remembered: the engine verifies it inline and refuses it', async () => {
    const pool = startPool();
    const crypto = new Crypto(seededRandom('verify-ahead-forged'));
    const job = signedJob('GROUP_SHARE');
    const forged = { ...job, signature: job.signature.slice() };
    forged.signature[0] = (forged.signature[0] ?? 0) ^ 0x80;
    const ticket = verifyAhead(pool, { signerFor: () => forged }, crypto, nick, forged.message);
    if (!ticket) throw new Error('expected a ticket');
    await settled(ticket);
    expect(ticket.outcome?.ok).toBe(false);
    expect(crypto.verify(forged.signature, forged.message, forged.publicKey)).toBe(false);
    expect(crypto.counters).toMatchObject({ verify: 1, verifyOffThread: 0 });
  });

  it('does nothing without a pool or without a key to check against', () => {
    const crypto = new Crypto(seededRandom('verify-ahead-none'));
    const job = signedJob('x');
    expect(verifyAhead(null, { signerFor: () => job }, crypto, nick, job.message)).toBeNull();
    expect(verifyAhead(startPool(), { signerFor: () => null }, crypto, nick, job.message)).toBe(
      null,
    );
  });
});

describe('InOrder', () => {
  it('delivers in push order, taking back unsent jobs and waiting for sent ones', async () => {
    const pool = startPool(1, 2);
    const delivered: number[] = [];
    const states: string[] = [];
    const tickets: (VerifyTicket | null)[] = [];
    const queue = new InOrder<number>((i) => {
      delivered.push(i);
      states.push(tickets[i]?.state ?? 'none');
    });
    for (let i = 0; i < 30; i++) {
      const ticket = i % 7 === 3 ? null : pool.submit(signedJob(`in order ${i}`), () => undefined);
      tickets.push(ticket);
      queue.push(i, ticket);
    }
    expect(delivered).toEqual([]); // the first item has a ticket: nothing is delivered inside push
    await new Promise<void>((resolve) => {
      const check = () => (queue.length === 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(delivered).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // Every ticket was either verified by the worker before delivery or taken back.
    expect(states.every((s) => s === 'settled' || s === 'stolen' || s === 'none')).toBe(true);
    expect(states.filter((s) => s === 'settled').length).toBeGreaterThan(0);
    expect(states.filter((s) => s === 'stolen').length).toBeGreaterThan(0);
  });

  it('delivers an item without a ticket at once when nothing is waiting', () => {
    const delivered: string[] = [];
    const queue = new InOrder<string>((s) => delivered.push(s));
    queue.push('joined', null);
    expect(delivered).toEqual(['joined']);
  });
});
