// The `parallel` transport: every client on a core of its own, as in a real room, measured in one
// process. The engines run here one at a time, for real (real libsodium, real frames, inline
// verification); what is virtual is only the clock that says when each step would have run had
// every client had its own machine. It is a discrete-event schedule driven by measured CPU:
//
//   - a client handles its events one at a time, in order; an event that arrives at virtual time t
//     starts at max(t, the end of that client's previous step), and the step lasts the wall time
//     `performance.now()` measured around it here (preemption only over-counts), less the garbage
//     collections V8 ran during it (`v8.GCProfiler`): a collection here copies the survivors of
//     every client in the process at once (3 to 7 ms a scavenge with 30 clients), work that no
//     one client on its own machine does, and charging it to whichever step it interrupted made
//     the same run vary by a third (both sides of a ratio lose it alike; `gcMs` says how much);
//   - what a step sends reaches the relay when the step ends; the relay is one server that
//     orders frames as they reach it and spends `relayMicrosPerDelivery` per recipient on each
//     (the relay bench's socket.io figure at half saturation is about 8 µs); every recipient gets
//     the frame `latencyMs` after the relay is done with it;
//   - timers fire at virtual time, as one more event of their client (a quiet room's clock jumps
//     to its next timer).
//
// Events are taken in virtual-time order (ties in the order they were scheduled), and a step never
// schedules anything before its own start, so the schedule is a valid run of the room: the relay
// order is the order frames would reach a relay from separate machines. `now()` is that clock, in
// milliseconds; the benches time joins with it on this transport.
import { GCProfiler } from 'node:v8';
import type { Link, RelayEvent, Transport } from './transport-types';

interface Scheduled {
  t: number;
  order: number;
  run: () => void;
  /** A timer: the transport is settled when nothing but timers is left. */
  timer: boolean;
  cancelled?: boolean;
}

interface Endpoint {
  nick: string;
  deliver: (e: RelayEvent) => void;
  /** Virtual time at which this client's last step ended. */
  free: number;
  queue: (() => void)[];
  awake: boolean;
}

interface Room {
  seq: number;
  members: Map<string, Endpoint>;
}

/** A binary min-heap on (t, order). */
class Agenda {
  private readonly items: Scheduled[] = [];
  /** How many scheduled items are not timers. */
  private work = 0;

  get size(): number {
    return this.items.length;
  }

  push(s: Scheduled): void {
    const a = this.items;
    if (!s.timer) this.work++;
    a.push(s);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i] as Scheduled, a[p] as Scheduled)) break;
      [a[i], a[p]] = [a[p] as Scheduled, a[i] as Scheduled];
      i = p;
    }
  }

  pop(): Scheduled | undefined {
    const a = this.items;
    const top = a[0];
    if (top && !top.timer) this.work--;
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l] as Scheduled, a[m] as Scheduled)) m = l;
        if (r < a.length && before(a[r] as Scheduled, a[m] as Scheduled)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Scheduled, a[i] as Scheduled];
        i = m;
      }
    }
    return top;
  }

  /** Anything other than a timer waiting? */
  busy(): boolean {
    return this.work > 0;
  }

  clear(): void {
    this.items.length = 0;
    this.work = 0;
  }
}

function before(x: Scheduled, y: Scheduled): boolean {
  return x.t < y.t || (x.t === y.t && x.order < y.order);
}

export interface ParallelOptions {
  latencyMs?: number;
  relayMicrosPerDelivery?: number;
  /**
   * Model the relay's write batcher (src-main/relay/batching.ts) with this flush interval, ms:
   * each client's frames wait in its corked socket and leave in one write per flush, at the end
   * of the relay's turn when the last flush is `relayBatchMs` old, else `relayBatchMs` after it.
   * A delivery then costs RELAY_MICROS_CORKED and each write the rest of
   * `relayMicrosPerDelivery`, so that a frame alone costs what it costs without the batcher.
   * Unset: every frame is one write to each recipient (the model before the batcher).
   */
  relayBatchMs?: number;
}

/** The relay's CPU per delivery when many leave in one write (relay.json, saturation: 1.1 µs). */
export const RELAY_MICROS_CORKED = 1.1;

interface Corked {
  ep: Endpoint;
  deliver: (e: RelayEvent) => void;
  events: RelayEvent[];
}

export class ParallelTransport implements Transport {
  readonly kind = 'parallel';
  readonly verifyPool = null;
  readonly latencyMs: number;
  readonly relayMicrosPerDelivery: number;
  readonly relayBatchMs: number | null;
  private readonly agenda = new Agenda();
  /** Batcher model: each recipient's frames since the last flush, and the flush to come. */
  private readonly corked = new Map<string, Corked>();
  private flushPending = false;
  private lastFlush = -Infinity;
  private readonly rooms = new Map<string, Room>();
  private readonly endpoints = new Map<string, Endpoint>();
  private vnow = 0;
  private order = 0;
  private relayFree = 0;
  /** Garbage collection (ms of wall time) left out of the steps it interrupted. */
  gcMs = 0;
  private readonly epoch = Date.now();
  /** The sends of the step running now, released when it ends. */
  private stepSends: (() => void)[] | null = null;
  private pumping = false;
  private settleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(options: ParallelOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.relayMicrosPerDelivery = options.relayMicrosPerDelivery ?? 8;
    this.relayBatchMs = options.relayBatchMs ?? null;
  }

  now(): number {
    return this.vnow;
  }

  at(): number {
    return this.epoch + Math.round(this.vnow);
  }

  relayCpuSeconds(): undefined {
    return undefined;
  }

  /** A timer of client `nick`, at virtual time: one more event in that client's queue. */
  setTimer(nick: string, ms: number, fire: () => void): () => void {
    const s = this.schedule(this.vnow + ms, true, () => {
      const ep = this.endpoints.get(nick);
      if (ep) this.enqueue(ep, fire);
    });
    return () => {
      s.cancelled = true;
    };
  }

  /** Resolves when nothing but timers is left to happen (the room is quiet). */
  settled(): Promise<void> {
    if (!this.agenda.busy()) return Promise.resolve();
    return new Promise((done) => this.settleWaiters.push(done));
  }

  async connect(room: string, nick: string, onEvent: (e: RelayEvent) => void): Promise<Link> {
    if (this.endpoints.has(nick)) throw new Error(`${nick}: connected twice`);
    let active = false;
    const ep: Endpoint = {
      nick,
      deliver: (e) => {
        if (active) onEvent(e);
      },
      free: this.vnow,
      queue: [],
      awake: false,
    };
    this.endpoints.set(nick, ep);
    const r = this.roomOf(room);
    return {
      join: async () => {
        if (r.members.has(nick)) throw new Error(`${nick}: nick taken`);
        const membersBefore = [...r.members.keys()].sort();
        active = true;
        r.members.set(nick, {
          ...ep,
          deliver: (e) =>
            ep.deliver(e.type === 'joined' && e.nick === nick ? { ...e, membersBefore } : e),
        });
        this.fromClient(() => this.append(r, { type: 'joined', nick }));
      },
      send: (data) => {
        if (active) this.fromClient(() => this.append(r, { type: 'message', nick, data }));
      },
      leave: async () => {
        if (!r.members.has(nick)) return;
        this.fromClient(() => {
          this.append(r, { type: 'left', nick });
          r.members.delete(nick); // it still gets its own left: the recipients were taken above
        });
      },
      close: () => {
        active = false;
        r.members.delete(nick);
        this.endpoints.delete(nick);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agenda.clear();
    this.rooms.clear();
    this.endpoints.clear();
    this.corked.clear();
    for (const w of this.settleWaiters.splice(0)) w();
  }

  private roomOf(name: string): Room {
    let r = this.rooms.get(name);
    if (!r) {
      r = { seq: 0, members: new Map() };
      this.rooms.set(name, r);
    }
    return r;
  }

  /** Something a client sends: it reaches the relay when the current step ends (or now). */
  private fromClient(reach: () => void): void {
    if (this.stepSends) this.stepSends.push(reach);
    else this.schedule(this.vnow, false, reach);
  }

  /** The relay takes a frame: it orders it, then fans it out, one recipient after another. */
  private append(r: Room, e: Omit<RelayEvent, 'seq' | 'at'>): void {
    const full: RelayEvent = { ...e, seq: ++r.seq, at: this.at() } as RelayEvent;
    const to = [...r.members.values()];
    if (this.relayBatchMs !== null) {
      this.cork(full, to, this.relayBatchMs);
      return;
    }
    this.relayFree =
      Math.max(this.relayFree, this.vnow) + (to.length * this.relayMicrosPerDelivery) / 1000;
    const arrive = this.relayFree + this.latencyMs;
    for (const member of to) {
      const ep = this.endpoints.get(member.nick);
      if (!ep) continue;
      this.schedule(arrive, false, () => this.enqueue(ep, () => member.deliver(full)));
    }
  }

  /** Batcher model: the frame goes into each recipient's corked socket; a flush is due. */
  private cork(full: RelayEvent, to: Endpoint[], intervalMs: number): void {
    this.relayFree = Math.max(this.relayFree, this.vnow) + (to.length * RELAY_MICROS_CORKED) / 1000;
    for (const member of to) {
      const ep = this.endpoints.get(member.nick);
      if (!ep) continue;
      let c = this.corked.get(member.nick);
      if (!c) {
        c = { ep, deliver: member.deliver, events: [] };
        this.corked.set(member.nick, c);
      }
      c.events.push(full);
    }
    if (this.flushPending) return;
    this.flushPending = true;
    this.schedule(Math.max(this.relayFree, this.lastFlush + intervalMs), false, () => this.flush());
  }

  /** Batcher model: one write to each client with frames waiting; they all arrive after it. */
  private flush(): void {
    this.flushPending = false;
    const writes = [...this.corked.values()];
    this.corked.clear();
    const perWrite = Math.max(0, this.relayMicrosPerDelivery - RELAY_MICROS_CORKED);
    this.relayFree = Math.max(this.relayFree, this.vnow) + (writes.length * perWrite) / 1000;
    this.lastFlush = this.vnow;
    const arrive = this.relayFree + this.latencyMs;
    for (const w of writes) {
      for (const e of w.events)
        this.schedule(arrive, false, () => this.enqueue(w.ep, () => w.deliver(e)));
    }
  }

  private enqueue(ep: Endpoint, step: () => void): void {
    ep.queue.push(step);
    if (!ep.awake) {
      ep.awake = true;
      this.schedule(Math.max(this.vnow, ep.free), false, () => this.wake(ep));
    }
  }

  /** One step of a client, measured; its sends leave when it ends. */
  private wake(ep: Endpoint): void {
    const step = ep.queue.shift();
    if (!step || !this.endpoints.has(ep.nick)) {
      ep.awake = false;
      return;
    }
    const sends: (() => void)[] = [];
    this.stepSends = sends;
    const gc = new GCProfiler();
    gc.start();
    const t = performance.now();
    let wall = 0;
    try {
      step();
    } finally {
      wall = performance.now() - t;
      this.stepSends = null;
    }
    const gcMs = gc.stop().statistics.reduce((ms, s) => ms + s.cost / 1000, 0);
    this.gcMs += gcMs;
    ep.free = this.vnow + Math.max(0, wall - gcMs);
    for (const reach of sends) this.schedule(ep.free, false, reach);
    if (ep.queue.length > 0) this.schedule(ep.free, false, () => this.wake(ep));
    else ep.awake = false;
  }

  private schedule(t: number, timer: boolean, run: () => void): Scheduled {
    const s: Scheduled = { t: Math.max(t, this.vnow), order: this.order++, run, timer };
    this.agenda.push(s);
    if (!this.pumping && !this.closed) {
      this.pumping = true;
      setImmediate(() => this.pump());
    }
    return s;
  }

  /**
   * Runs the agenda in slices of real time, yielding in between so that the bench's own awaits
   * (a convergence it waits for, the next trial's joins) run at the virtual time they happen.
   * When only timers are left, `settled()` resolves and the slice ends before the clock jumps to
   * the next timer, so the bench reads a quiet room before the timers run.
   */
  private pump(): void {
    const until = performance.now() + 20;
    while (this.agenda.size > 0 && !this.closed && performance.now() < until) {
      if (!this.agenda.busy() && this.settleWaiters.length > 0) break;
      const s = this.agenda.pop() as Scheduled;
      if (s.cancelled) continue;
      this.vnow = s.t;
      s.run();
    }
    if (!this.agenda.busy()) for (const w of this.settleWaiters.splice(0)) w();
    if (this.agenda.size > 0 && !this.closed) setImmediate(() => this.pump());
    else this.pumping = false;
  }
}
