// Signature verification ahead of the engine, on worker threads. The engine is synchronous and
// verifies every frame it accepts (PROTOCOL.md section 4); in a room of n, a join costs each
// member about 2n Ed25519 verifications, which is most of its CPU. A host that sees frames
// queue up behind the one the engine is working on can have their signatures checked on another
// core meanwhile: it asks the engine which key it would check a frame against
// (`RoomEngine.signerFor`), sends the (signature, message, key) triple here, and on success
// tells the engine's Crypto (`acceptVerified`), whose next `verify` of exactly those bytes takes
// the answer. Nothing is trusted that was not verified: a guess that turns out wrong, a failed
// signature, a dead worker or a closed pool all end in the engine verifying inline as before.
//
// The split is work stealing. Jobs wait in the pool unsent; a worker takes the newest (from the
// back) a small batch at a time, while the host's thread, reaching a frame whose job no worker
// has taken yet, takes that job back (`VerifyTicket.steal`) and lets the engine verify inline.
// So neither side waits on the other while there is verification left to do, whatever the
// share of each core the host's other work leaves.
//
// The worker runs libsodium's native binding (sodium-native), the same call the engine's
// native backend makes. A batch travels as one transferable buffer each way.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Crypto } from '../protocol/crypto';
import type { Nick } from '../protocol/types';

export interface VerifyJob {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

export interface VerifyOutcome {
  ok: boolean;
  /** Time the verification took on the worker thread, in microseconds. */
  micros: number;
}

export interface VerifyPoolOptions {
  /** Worker threads (default `defaultVerifyThreads()`; 0 means no pool). */
  threads?: number;
  /** Jobs per message to a worker (default 32, about 2 ms of work). */
  maxBatch?: number;
  /** Told once when a worker fails; the pool goes on with the others, or with none. */
  onError?: (error: Error) => void;
}

export interface VerifyPoolStats {
  threads: number;
  /** Jobs submitted. */
  jobs: number;
  /** Jobs verified by a worker. */
  verified: number;
  /** Jobs taken back by the host before a worker had them (verified inline instead). */
  stolen: number;
  batches: number;
  failedSignatures: number;
  /** Jobs settled with null because their worker died or the pool closed. */
  dropped: number;
}

/** A thread count the pool accepts: a whole number from 0 to 64. */
export function isVerifyThreads(threads: number): boolean {
  return Number.isInteger(threads) && threads >= 0 && threads <= 64;
}

/**
 * One worker thread per core beyond the first (the engine's), at most 4, and none on a single
 * core, where another thread would only take turns with the engine.
 */
export function defaultVerifyThreads(): number {
  return Math.max(0, Math.min(4, availableParallelism() - 1));
}

// Runs as CommonJS in the worker (`eval: true`), so it needs no file of its own in any build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const na = require(workerData.sodiumPath);
parentPort.on('message', ({ id, count, buffer }) => {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const ok = new Uint8Array(count);
  const micros = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at);
    const signature = bytes.subarray(at + 4, at + 68);
    const publicKey = bytes.subarray(at + 68, at + 100);
    const message = bytes.subarray(at + 100, at + 100 + length);
    at += 100 + length;
    const started = performance.now();
    let good = false;
    try { good = na.crypto_sign_verify_detached(signature, message, publicKey); } catch {}
    micros[i] = (performance.now() - started) * 1000;
    ok[i] = good ? 1 : 0;
  }
  parentPort.postMessage({ id, ok, micros }, [ok.buffer, micros.buffer]);
});
`;

/**
 * How many batches a worker holds at once: one being verified, the rest ready behind it so that
 * it does not run dry while the host's thread is busy between two turns of the event loop.
 */
const BATCHES_IN_FLIGHT = 4;

/** One job's place in the pool. */
export class VerifyTicket {
  state: 'queued' | 'sent' | 'settled' | 'stolen' = 'queued';
  outcome: VerifyOutcome | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    readonly job: VerifyJob,
    private readonly onOutcome: (outcome: VerifyOutcome | null) => void,
    private readonly onSteal: () => void,
  ) {}

  /** Takes the job back if no worker has it yet: true means "verify it yourself". */
  steal(): boolean {
    if (this.state !== 'queued') return false;
    this.state = 'stolen';
    this.onSteal();
    return true;
  }

  /** Calls `fn` once the ticket is settled (at once if it is, or was stolen). */
  whenSettled(fn: () => void): void {
    if (this.state === 'settled' || this.state === 'stolen') fn();
    else this.waiters.push(fn);
  }

  /** The pool's side: the answer (null when the pool could not verify it after all). */
  settle(outcome: VerifyOutcome | null): void {
    if (this.state === 'settled' || this.state === 'stolen') return;
    this.state = 'settled';
    this.outcome = outcome;
    this.onOutcome(outcome);
    for (const fn of this.waiters.splice(0)) fn();
  }
}

interface Lane {
  worker: Worker;
  /** Batches sent and not answered yet, by id. */
  inFlight: Map<number, VerifyTicket[]>;
}

export class VerifyPool {
  private readonly lanes: Lane[] = [];
  /** Jobs no worker has taken yet, oldest first; stolen ones are skipped and trimmed lazily. */
  private unsent: VerifyTicket[] = [];
  private unsentHead = 0;
  private pumpScheduled = false;
  private nextBatchId = 1;
  private closed = false;
  private readonly maxBatch: number;
  private readonly counts = {
    jobs: 0,
    verified: 0,
    stolen: 0,
    batches: 0,
    failedSignatures: 0,
    dropped: 0,
  };

  /**
   * Starts the workers; null when there is nothing to start (0 threads) or the native binding
   * cannot be found (then the engine verifies inline, as it always can).
   */
  static start(options: VerifyPoolOptions = {}): VerifyPool | null {
    const threads = options.threads ?? defaultVerifyThreads();
    if (!isVerifyThreads(threads)) {
      throw new RangeError(`verify threads must be a whole number from 0 to 64, not ${threads}`);
    }
    if (threads === 0) return null;
    let sodiumPath: string;
    try {
      sodiumPath = createRequire(import.meta.url).resolve('sodium-native');
    } catch {
      return null;
    }
    return new VerifyPool(threads, sodiumPath, options);
  }

  private constructor(
    threads: number,
    sodiumPath: string,
    private readonly options: VerifyPoolOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 32;
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath } });
      const lane: Lane = { worker, inFlight: new Map() };
      worker.on('message', (m: { id: number; ok: Uint8Array; micros: Float64Array }) =>
        this.answer(lane, m),
      );
      worker.on('error', (error) => this.fail(lane, error));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(lane, new Error(`verify worker exited with code ${code}`));
      });
      worker.unref();
      this.lanes.push(lane);
    }
  }

  get stats(): VerifyPoolStats {
    return { threads: this.lanes.length, ...this.counts };
  }

  /**
   * Queues a job; `onOutcome` runs when a worker has answered it (null: it could not). Null
   * when the pool is closed or has no worker left: verify inline then.
   */
  submit(job: VerifyJob, onOutcome: (outcome: VerifyOutcome | null) => void): VerifyTicket | null {
    if (this.closed || this.lanes.length === 0) return null;
    const ticket = new VerifyTicket(job, onOutcome, () => this.counts.stolen++);
    this.counts.jobs++;
    this.unsent.push(ticket);
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      queueMicrotask(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
    return ticket;
  }

  /** Stops the workers; jobs not answered yet settle with null. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lanes = this.lanes.splice(0);
    for (const lane of lanes) this.drop(lane);
    this.dropUnsent();
    await Promise.all(lanes.map((lane) => lane.worker.terminate()));
  }

  /** Gives every worker with room for a batch the newest unsent jobs. */
  private pump(): void {
    for (const lane of this.lanes) {
      while (lane.inFlight.size < BATCHES_IN_FLIGHT) {
        const batch = this.takeNewest();
        if (batch.length === 0) return;
        this.send(lane, batch);
      }
    }
  }

  private takeNewest(): VerifyTicket[] {
    const batch: VerifyTicket[] = [];
    while (batch.length < this.maxBatch && this.unsent.length > this.unsentHead) {
      const ticket = this.unsent.pop() as VerifyTicket;
      if (ticket.state === 'queued') {
        ticket.state = 'sent';
        batch.push(ticket);
      }
    }
    // Trim what the host has stolen from the front.
    while (
      this.unsentHead < this.unsent.length &&
      this.unsent[this.unsentHead]?.state !== 'queued'
    ) {
      this.unsentHead++;
    }
    if (this.unsentHead >= this.unsent.length) {
      this.unsent = [];
      this.unsentHead = 0;
    } else if (this.unsentHead > 1024) {
      this.unsent = this.unsent.slice(this.unsentHead);
      this.unsentHead = 0;
    }
    return batch;
  }

  private send(lane: Lane, batch: VerifyTicket[]): void {
    let size = 0;
    for (const t of batch) size += 100 + t.job.message.length;
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    let at = 0;
    for (const { job } of batch) {
      view.setUint32(at, job.message.length);
      bytes.set(job.signature.subarray(0, 64), at + 4);
      bytes.set(job.publicKey.subarray(0, 32), at + 68);
      bytes.set(job.message, at + 100);
      at += 100 + job.message.length;
    }
    const id = this.nextBatchId++;
    lane.inFlight.set(id, batch);
    if (lane.inFlight.size === 1) lane.worker.ref();
    this.counts.batches++;
    lane.worker.postMessage({ id, count: batch.length, buffer }, [buffer]);
  }

  private answer(lane: Lane, m: { id: number; ok: Uint8Array; micros: Float64Array }): void {
    const batch = lane.inFlight.get(m.id);
    if (!batch) return;
    lane.inFlight.delete(m.id);
    this.pump(); // keep the worker busy before anything else
    if (lane.inFlight.size === 0) lane.worker.unref();
    batch.forEach((ticket, i) => {
      const ok = m.ok[i] === 1;
      this.counts.verified++;
      if (!ok) this.counts.failedSignatures++;
      ticket.settle({ ok, micros: m.micros[i] ?? 0 });
    });
  }

  private fail(lane: Lane, error: Error): void {
    const i = this.lanes.indexOf(lane);
    if (i < 0) return;
    this.lanes.splice(i, 1);
    this.drop(lane);
    void lane.worker.terminate();
    this.options.onError?.(error);
    if (this.lanes.length === 0) this.dropUnsent();
  }

  private drop(lane: Lane): void {
    for (const batch of lane.inFlight.values()) {
      for (const t of batch) t.settle(null);
      this.counts.dropped += batch.length;
    }
    lane.inFlight.clear();
  }

  private dropUnsent(): void {
    const unsent = this.unsent.splice(0);
    this.unsentHead = 0;
    for (const t of unsent) {
      if (t.state !== 'queued') continue;
      this.counts.dropped++;
      t.settle(null);
    }
  }
}

/** The part of an engine that verifying ahead needs. */
export interface VerifyAheadTarget {
  signerFor(nick: Nick, data: Uint8Array): VerifyJob | null;
}

/**
 * Queues a frame that is waiting for the engine for verification ahead. On a worker's success
 * `crypto` is told (and `onMicros` gets the worker's time); every other ending leaves the check
 * to the engine. Null when there is nothing to verify ahead (no pool, or no key for it yet).
 */
export function verifyAhead(
  pool: VerifyPool | null,
  engine: VerifyAheadTarget,
  crypto: Pick<Crypto, 'acceptVerified'>,
  nick: Nick,
  data: Uint8Array,
  onMicros?: (micros: number) => void,
): VerifyTicket | null {
  if (!pool) return null;
  const job = engine.signerFor(nick, data);
  if (!job) return null;
  return pool.submit(job, (outcome) => {
    if (!outcome) return;
    if (outcome.ok) crypto.acceptVerified(job.signature, job.message, job.publicKey);
    onMicros?.(outcome.micros);
  });
}

/** Every InOrder with items to deliver shares one slice of the event loop at a time. */
const runnable = new Set<InOrder<unknown>>();
let drainScheduled = false;
/** Delivery runs in slices of this many milliseconds, all queues of the process together. */
const SLICE_MS = 2;

function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(drainSlice);
}

/**
 * Delivers every head that is ready (no ticket, or verified), across all queues; only when no
 * queue can move without it does the host's thread take a job back from a worker's queue, one
 * at a time, so that the workers keep as much of the verification as they can.
 */
function drainSlice(): void {
  drainScheduled = false;
  const until = performance.now() + SLICE_MS;
  while (runnable.size > 0 && performance.now() < until) {
    let delivered = false;
    let stealable: InOrder<unknown> | null = null;
    for (const queue of runnable) {
      const { moved, head } = queue.deliverReady(until);
      if (moved) delivered = true;
      if (head === 'empty' || head === 'waiting') runnable.delete(queue);
      else if (head === 'queued') stealable ??= queue;
      if (performance.now() >= until) break;
    }
    if (!delivered) {
      if (!stealable) break;
      stealable.stealOne();
    }
  }
  if (runnable.size > 0) scheduleDrain();
}

/**
 * Hands items to `deliver` in the order they were pushed. An item whose ticket a worker is
 * verifying is waited for; one whose ticket no worker has taken yet is taken back when nothing
 * else in the process is ready (the engine then verifies it inline). Delivery runs in short
 * slices shared by every queue in the process, yielding to the event loop in between, so that
 * workers' answers (and their refills) are not held up behind a long backlog. An item with no
 * ticket pushed behind an empty queue is delivered inside `push`.
 */
export class InOrder<T> {
  private readonly items: { item: T; ticket: VerifyTicket | null }[] = [];
  private waiting = false;

  constructor(private readonly deliver: (item: T) => void) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T, ticket: VerifyTicket | null): void {
    if (!ticket && this.items.length === 0) {
      this.deliver(item);
      return;
    }
    this.items.push({ item, ticket });
    if (!this.waiting) this.wake();
  }

  /** Drops everything still waiting (the host is closing). */
  clear(): void {
    this.items.length = 0;
    runnable.delete(this as InOrder<unknown>);
  }

  private wake(): void {
    runnable.add(this as InOrder<unknown>);
    scheduleDrain();
  }

  /**
   * Delivers heads while they are ready and the slice lasts. `head` says what stopped it: an
   * empty queue, a head a worker is verifying (the queue wakes itself when it is done), a head
   * no worker has taken yet, or the end of the slice.
   */
  deliverReady(until: number): { moved: boolean; head: 'empty' | 'waiting' | 'queued' | 'time' } {
    let moved = false;
    while (this.items.length > 0) {
      const head = this.items[0] as { item: T; ticket: VerifyTicket | null };
      const state = head.ticket?.state;
      if (state === 'queued') return { moved, head: 'queued' };
      if (state === 'sent') {
        this.waiting = true;
        (head.ticket as VerifyTicket).whenSettled(() => {
          this.waiting = false;
          if (this.items.length > 0) this.wake();
        });
        return { moved, head: 'waiting' };
      }
      this.items.shift();
      this.deliver(head.item);
      moved = true;
      if (performance.now() >= until) break;
    }
    return { moved, head: this.items.length === 0 ? 'empty' : 'time' };
  }

  /** Takes the head's job back from the pool and delivers it (the engine verifies inline). */
  stealOne(): void {
    const head = this.items[0];
    if (!head) return;
    head.ticket?.steal();
    this.items.shift();
    this.deliver(head.item);
  }
}
