// Many RoomEngines in one process over one relay, instrumented. Every client has its own
// Crypto (no shared verification memo: each verifies what a real client would), its own relay
// connection, and its own timers. Around each member's own `engine.handle` call we measure
// process CPU time (`process.cpuUsage`) and wall time (`performance.now`), and we count the
// crypto operations, so a join's cost can be read per member.
//
// Three transports: `socket` (the real relay over Socket.IO on 127.0.0.1, the default), `local`
// (an in-memory ordered log in this process: the no-network baseline) and `parallel` (every
// client on a core of its own, on a virtual clock driven by each step's measured time; see
// parallel-transport.ts).
import type { Socket } from 'socket.io-client';
import type { CryptoCounters } from '../src-main/protocol/crypto';
import { cryptoBackendFromEnv } from '../src-main/host/crypto-choice';
import { Crypto, cryptoReadyWith, systemRandom, zeroCounters } from '../src-main/protocol/crypto';
import { MessageType } from '../src-main/protocol/codec';
import { RoomEngine } from '../src-main/protocol/engine';
import type { AppEvent, Effect, EngineInput } from '../src-main/protocol/events';
import type { Nick } from '../src-main/protocol/types';
import { asNick, asSeq } from '../src-main/protocol/types';
import { ParallelTransport } from './parallel-transport';
import { startBenchRelay } from './relay-process';
import type { JoinAck } from '../src-main/client/relay-link';
import type { Link, RelayEvent, Transport, TransportKind } from './transport-types';
import { openRelaySocket, relayEventOf } from '../src-main/client/relay-link';
import { InOrder, VerifyPool, verifyAhead } from '../src-main/client/verify-pool';
import type { RoomEvent } from '../src-main/relay/wire';

/** The second byte of every frame is its type. */
const CHAT_TYPE = MessageType.CHAT;
const TYPE_NAMES = new Map<number, string>(
  Object.entries(MessageType).map(([name, code]) => [code, name]),
);

export type { Link, RelayEvent, Transport, TransportKind } from './transport-types';

export interface TransportOptions {
  kind: TransportKind;
  /** Socket transport: run the relay inside this process instead of a child process. */
  relayInProcess?: boolean;
  maxMembersPerRoom?: number;
  /** Socket transport: use this running relay (another process owns it) instead of starting one. */
  url?: string;
  /** Threads verifying signatures ahead of the engines (0: every engine verifies inline). */
  verifyThreads?: number;
  /**
   * Socket transport: hold every relay event this long before a client sees it (a relay across
   * a network rather than on loopback; order is kept, the clients' sends are not delayed).
   */
  latencyMs?: number;
  /** Parallel transport: the relay's time per recipient of a frame, µs. */
  relayMicrosPerDelivery?: number;
  /** Parallel transport: model the relay's write batcher with this flush interval (ms). */
  relayBatchMs?: number;
}

/** Real time, for the transports that run in it. */
const realClock = {
  now: () => performance.now(),
  at: () => Date.now(),
  setTimer: (_nick: string, ms: number, fire: () => void) => {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export async function openTransport(options: TransportOptions): Promise<Transport> {
  await cryptoReadyWith(cryptoBackendFromEnv());
  if (options.kind === 'parallel') {
    // Each client verifies on its own core, inline: a pool would be a core they all share.
    return new ParallelTransport({
      latencyMs: options.latencyMs,
      relayMicrosPerDelivery: options.relayMicrosPerDelivery,
      relayBatchMs: options.relayBatchMs,
    });
  }
  const pool = VerifyPool.start({ threads: options.verifyThreads ?? 0 });
  if ((options.verifyThreads ?? 0) > 0 && !pool) {
    throw new Error('--verify-threads needs the native libsodium binding (sodium-native)');
  }
  if (options.kind === 'local') return new LocalTransport(pool);
  if (options.url) {
    return new SocketTransport(
      options.url,
      () => undefined,
      async () => undefined,
      pool,
    );
  }
  const relay = await startBenchRelay(
    { inProcess: options.relayInProcess },
    options.maxMembersPerRoom ?? 200,
  );
  return new SocketTransport(relay.url, relay.cpuSeconds, relay.stop, pool, options.latencyMs);
}

/** An `event` as the relay emits it (docs/RELAY.md). */
type WireEvent = RoomEvent;

type Ack = { ok: true; seq: number } | { ok: false; error: { code: string } };

class SocketTransport implements Transport {
  readonly kind = 'socket';
  readonly now = realClock.now;
  readonly at = realClock.at;
  readonly setTimer = realClock.setTimer;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly url: string,
    readonly relayCpuSeconds: () => number | undefined,
    private readonly stop: () => Promise<void>,
    readonly verifyPool: VerifyPool | null,
    private readonly latencyMs = 0,
  ) {}

  async connect(room: string, nick: string, onEvent: (e: RelayEvent) => void): Promise<Link> {
    // The app's link setup (client/relay-link.ts), connecting once: a drop fails the run.
    const socket = openRelaySocket(this.url, 'once');
    this.sockets.add(socket);
    await new Promise<void>((done, fail) => {
      socket.once('connect', () => done());
      socket.once('connect_error', fail);
    });
    let joined = false;
    let leaving = false;
    let members: string[] = [];
    let lastSeq = 0;
    const early: WireEvent[] = [];
    const deliver = (w: WireEvent) => {
      if (lastSeq > 0 && w.seq !== lastSeq + 1) {
        throw new Error(`${nick}: relay gap, seq ${w.seq} after ${lastSeq}`);
      }
      lastSeq = w.seq;
      const e: RelayEvent = relayEventOf(w);
      if (w.type === 'joined' && w.nick === nick) e.membersBefore = members;
      onEvent(e);
    };
    const arrive = (w: WireEvent) => {
      if (joined) deliver(w);
      else early.push(w);
    };
    socket.on('event', (w: WireEvent) => {
      if (w.room !== room) return;
      // Timers of one duration fire in the order they were set: the order survives the delay.
      if (this.latencyMs > 0) setTimeout(() => arrive(w), this.latencyMs);
      else arrive(w);
    });
    const close = () => {
      socket.removeAllListeners();
      socket.disconnect();
      this.sockets.delete(socket);
    };
    return {
      async join() {
        const ack = (await socket.emitWithAck('join', { room, nick })) as JoinAck;
        if (!ack.ok) throw new Error(`${nick}: join refused: ${ack.error.code}`);
        members = ack.members;
        joined = true;
        for (const w of early.splice(0)) deliver(w);
      },
      send(data) {
        socket.emit('send', { room, data }, (ack: Ack) => {
          // A member on its way out still answers what arrives before its relay leave; the
          // relay refuses what it sends after that, as it should.
          if (!ack.ok && !(leaving && ack.error.code === 'NOT_IN_ROOM')) {
            console.error(`${nick}: send refused: ${ack.error.code}`);
          }
        });
      },
      async leave() {
        leaving = true;
        await socket.emitWithAck('leave', { room });
        close();
      },
      close,
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) {
      s.removeAllListeners();
      s.disconnect();
    }
    this.sockets.clear();
    await this.verifyPool?.close();
    await this.stop();
  }
}

/** The relay's semantics in memory: one ordered log per room, delivered in order to members. */
class LocalTransport implements Transport {
  readonly kind = 'local';
  readonly now = realClock.now;
  readonly at = realClock.at;
  readonly setTimer = realClock.setTimer;
  private readonly rooms = new Map<
    string,
    { seq: number; members: Map<string, (e: RelayEvent) => void> }
  >();
  private readonly queue: { e: RelayEvent; to: ((e: RelayEvent) => void)[] }[] = [];
  private pumping = false;

  constructor(readonly verifyPool: VerifyPool | null) {}

  relayCpuSeconds(): undefined {
    return undefined;
  }

  private roomOf(room: string) {
    let r = this.rooms.get(room);
    if (!r) {
      r = { seq: 0, members: new Map() };
      this.rooms.set(room, r);
    }
    return r;
  }

  private append(room: string, e: Omit<RelayEvent, 'seq' | 'at'>): void {
    const r = this.roomOf(room);
    const full: RelayEvent = { ...e, seq: ++r.seq, at: Date.now() };
    this.queue.push({ e: full, to: [...r.members.values()] });
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(() => this.pump());
    }
  }

  /** Delivers in batches, yielding to timers and the benchmark's own awaits in between. */
  private pump(): void {
    const until = performance.now() + 20;
    while (this.queue.length > 0 && performance.now() < until) {
      const { e, to } = this.queue.shift() as (typeof this.queue)[number];
      for (const sink of to) sink(e);
    }
    if (this.queue.length > 0) setImmediate(() => this.pump());
    else this.pumping = false;
  }

  async connect(room: string, nick: string, onEvent: (e: RelayEvent) => void): Promise<Link> {
    let active = false;
    const sink = (e: RelayEvent) => {
      if (active) onEvent(e);
    };
    return {
      join: async () => {
        const r = this.roomOf(room);
        if (r.members.has(nick)) throw new Error(`${nick}: nick taken`);
        const membersBefore = [...r.members.keys()].sort();
        active = true;
        r.members.set(nick, (e) =>
          sink(e.type === 'joined' && e.nick === nick ? { ...e, membersBefore } : e),
        );
        this.append(room, { type: 'joined', nick });
      },
      send: (data) => {
        if (active) this.append(room, { type: 'message', nick, data });
      },
      leave: async () => {
        const r = this.roomOf(room);
        if (!r.members.has(nick)) return;
        this.append(room, { type: 'left', nick });
        r.members.delete(nick); // it still receives its own left: it was queued with it
      },
      close: () => {
        active = false;
        this.roomOf(room).members.delete(nick);
      },
    };
  }

  async close(): Promise<void> {
    this.queue.length = 0;
    this.rooms.clear();
    await this.verifyPool?.close();
  }
}

/** Cumulative per-client measurements; a join's cost is the difference of two snapshots. */
export interface ClientStats {
  /**
   * Time in this member's own engine steps (see `run`), plus the worker-thread time of the
   * signatures verified ahead for it (`offThreadMicros`).
   */
  cpuMicros: number;
  /** The part of `cpuMicros` spent verifying this member's frames on the verify pool. */
  offThreadMicros: number;
  handles: number;
  chatFrames: number;
  /** The part of `cpuMicros` spent on CHAT frames. */
  chatCpuMicros: number;
  counters: CryptoCounters;
  /** Sessions that became current in this client's view. */
  currentSessions: number;
}

export class BenchClient {
  readonly crypto = new Crypto(systemRandom);
  readonly engine: RoomEngine;
  link: Link | null = null;
  /** Skip CHAT frames (a member whose decryption happens on another machine). */
  passiveChat = false;
  private readonly timers = new Map<string, () => void>();
  readonly stats: Omit<ClientStats, 'counters'> = {
    cpuMicros: 0,
    offThreadMicros: 0,
    handles: 0,
    chatFrames: 0,
    chatCpuMicros: 0,
    currentSessions: 0,
  };
  currentSid: string | null = null;
  currentSize = 0;
  closed = false;
  /** Relay events waiting for their signature check on the verify pool, in relay order. */
  private readonly inbox = new InOrder<RelayEvent>((e) => this.process(e));

  constructor(
    readonly room: BenchRoom,
    readonly nick: Nick,
  ) {
    this.engine = new RoomEngine({
      nick,
      identity: this.crypto.signKeyPair(),
      crypto: this.crypto,
      limboTimeoutMs: 30_000,
      joinRetryMs: 10_000,
      // The benchmarks measure the join protocol: their rooms admit everyone.
      admission: 'open',
    });
  }

  snapshot(): ClientStats {
    return { ...this.stats, counters: { ...this.crypto.counters } };
  }

  onRelayEvent(e: RelayEvent): void {
    if (this.closed) return;
    this.room.countDelivery(e);
    const pool = this.room.transport.verifyPool;
    const ticket =
      pool && e.type === 'message' && !(this.passiveChat && e.data?.[1] === CHAT_TYPE)
        ? verifyAhead(
            pool,
            this.engine,
            this.crypto,
            asNick(e.nick),
            e.data as Uint8Array,
            (micros) => {
              this.stats.cpuMicros += micros;
              this.stats.offThreadMicros += micros;
              if (e.data?.[1] === CHAT_TYPE) this.stats.chatCpuMicros += micros;
            },
          )
        : null;
    this.inbox.push(e, ticket);
  }

  private process(e: RelayEvent): void {
    if (this.closed) return;
    let input: EngineInput;
    if (e.type === 'message') {
      const data = e.data as Uint8Array;
      const chat = data[1] === CHAT_TYPE;
      if (chat && this.passiveChat) return;
      input = { kind: 'message', seq: asSeq(e.seq), nick: asNick(e.nick), data, at: e.at };
      this.run(input, chat);
      return;
    }
    if (e.type === 'joined') {
      input = { kind: 'joined', seq: asSeq(e.seq), nick: asNick(e.nick), at: e.at };
      if (e.membersBefore) input.membersBefore = e.membersBefore.map(asNick);
    } else {
      input = { kind: 'left', seq: asSeq(e.seq), nick: asNick(e.nick), at: e.at };
    }
    this.run(input, false);
  }

  /**
   * One measured step of the engine, then its effects. The step is timed with performance.now():
   * engine.handle is synchronous, so this is the CPU time it took on this thread unless the OS
   * preempted the thread meanwhile (then it over-counts, a conservative error). The CPU clocks
   * Node offers (process.cpuUsage, process.threadCpuUsage) advance in scheduler ticks on this
   * VM: 20 consecutive CHAT steps of ~100 µs each read as 0 µs, others as 4-10 ms.
   */
  run(input: EngineInput, chat = false): void {
    const t = performance.now();
    const effects = this.engine.handle(input);
    const ms = performance.now() - t;
    this.stats.cpuMicros += ms * 1000;
    this.stats.handles++;
    if (chat) {
      this.stats.chatFrames++;
      this.stats.chatCpuMicros += ms * 1000;
    }
    this.apply(effects);
  }

  private apply(effects: Effect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send':
          this.link?.send(e.data);
          break;
        case 'event':
          this.onAppEvent(e.event);
          break;
        case 'arm-timer': {
          this.timers.get(e.key)?.();
          const key = e.key;
          const transport = this.room.transport;
          const cancel = transport.setTimer(this.nick, e.afterMs, () => {
            if (this.timers.get(key) !== cancel) return;
            this.timers.delete(key);
            if (!this.closed) this.run({ kind: 'timer', key, at: transport.at() });
          });
          this.timers.set(key, cancel);
          break;
        }
        case 'cancel-timer':
          this.timers.get(e.key)?.();
          this.timers.delete(e.key);
          break;
        case 'persist':
          break;
      }
    }
  }

  private onAppEvent(event: AppEvent): void {
    if (event.type === 'session' && event.status === 'current') {
      this.currentSid = event.sid;
      this.currentSize = event.members.length;
      this.stats.currentSessions++;
      this.room.sessionChanged();
    } else if (event.type === 'message') {
      this.room.onChat(this, event.from, event.text);
    }
  }

  close(): void {
    this.closed = true;
    this.inbox.clear();
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.link?.close();
  }
}

export interface Traffic {
  /** Messages appended to the room log (each counted once). */
  messages: number;
  /** Their bytes (the frames' sizes as sent). */
  bytes: number;
  /** Events delivered, one per receiving member (the sender's copy included). */
  deliveries: number;
  bytesDelivered: number;
  maxSeq: number;
  /** Messages by frame type (JOIN_REQUEST, PARTICIPANTS_INFO, ...). */
  byType: Record<string, number>;
}

interface Waiter {
  check: () => boolean;
  done: (at: number) => void;
}

/** One room: its clients, the traffic through the relay, and convergence waits. */
export class BenchRoom {
  readonly clients: BenchClient[] = [];
  readonly traffic: Traffic = {
    messages: 0,
    bytes: 0,
    deliveries: 0,
    bytesDelivered: 0,
    maxSeq: 0,
    byType: {},
  };
  private waiters: Waiter[] = [];
  private lastDeliveryAt = performance.now();
  chatListener: ((receiver: BenchClient, from: string, text: string) => void) | null = null;

  constructor(
    readonly transport: Transport,
    readonly name: string,
  ) {}

  countDelivery(e: RelayEvent): void {
    const t = this.traffic;
    const size = e.data?.length ?? 0;
    t.deliveries++;
    t.bytesDelivered += size;
    if (e.seq > t.maxSeq) {
      t.maxSeq = e.seq;
      if (e.type === 'message') {
        t.messages++;
        t.bytes += size;
        const type = TYPE_NAMES.get((e.data as Uint8Array)[1] as number) ?? 'unknown';
        t.byType[type] = (t.byType[type] ?? 0) + 1;
      }
    }
    this.lastDeliveryAt = performance.now();
  }

  /** A connected client that has not joined yet (connection setup is not part of a join). */
  async connect(nick: string): Promise<BenchClient> {
    const client = new BenchClient(this, asNick(nick));
    client.link = await this.transport.connect(this.name, nick, (e) => client.onRelayEvent(e));
    return client;
  }

  /** Joins on the relay; the engine does the rest as events arrive. */
  async join(client: BenchClient): Promise<void> {
    this.clients.push(client);
    await (client.link as Link).join();
  }

  /** A member leaves as the app does: LEAVE in the current session, then the relay leave. */
  async leave(client: BenchClient): Promise<void> {
    const i = this.clients.indexOf(client);
    if (i >= 0) this.clients.splice(i, 1);
    client.run({ kind: 'leave', at: this.transport.at() });
    await client.link?.leave();
    client.close();
  }

  onChat(receiver: BenchClient, from: string, text: string): void {
    this.chatListener?.(receiver, from, text);
  }

  /** Every client is a member of one and the same current session of `size` members. */
  converged(size = this.clients.length): boolean {
    const first = this.clients[0];
    if (!first?.currentSid) return false;
    for (const c of this.clients) {
      if (c.currentSize !== size || c.currentSid !== first.currentSid) return false;
      if (!c.engine.isMember) return false;
    }
    return true;
  }

  sessionChanged(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.done(this.transport.now());
      return false;
    });
  }

  /**
   * Resolves once the room has converged, with the transport's `now()` at the engine step that
   * completed it (a continuation may run later, after the rest of that event-loop turn).
   */
  waitConverged(size: number, timeoutMs: number): Promise<number> {
    if (this.converged(size)) return Promise.resolve(this.transport.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const views = this.clients.map((c) => `${c.nick}:${c.currentSize}:${c.engine.isMember}`);
        reject(
          new Error(`room did not converge to ${size} in ${timeoutMs} ms: ${views.join(' ')}`),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        check: () => this.converged(size),
        done: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits until nothing has been delivered for `quietMs` (bounded by `maxMs`). */
  async quiet(quietMs = 15, maxMs = 2_000): Promise<void> {
    if (this.transport.settled) return this.transport.settled();
    const end = performance.now() + maxMs;
    while (performance.now() < end) {
      const idle = performance.now() - this.lastDeliveryAt;
      if (idle >= quietMs) return;
      await new Promise((r) => setTimeout(r, Math.max(1, quietMs - idle)));
    }
  }

  close(): void {
    for (const c of this.clients) c.close();
    this.clients.length = 0;
  }
}

export function diffStats(after: ClientStats, before: ClientStats | undefined): ClientStats {
  const b: ClientStats = before ?? {
    cpuMicros: 0,
    offThreadMicros: 0,
    handles: 0,
    chatFrames: 0,
    chatCpuMicros: 0,
    currentSessions: 0,
    counters: zeroCounters(),
  };
  const counters = { ...after.counters };
  for (const key of Object.keys(counters) as (keyof CryptoCounters)[]) {
    counters[key] -= b.counters[key];
  }
  return {
    cpuMicros: after.cpuMicros - b.cpuMicros,
    offThreadMicros: after.offThreadMicros - b.offThreadMicros,
    handles: after.handles - b.handles,
    chatFrames: after.chatFrames - b.chatFrames,
    chatCpuMicros: after.chatCpuMicros - b.chatCpuMicros,
    currentSessions: after.currentSessions - b.currentSessions,
    counters,
  };
}

export function diffTraffic(after: Traffic, before: Traffic): Traffic {
  return {
    messages: after.messages - before.messages,
    bytes: after.bytes - before.bytes,
    deliveries: after.deliveries - before.deliveries,
    bytesDelivered: after.bytesDelivered - before.bytesDelivered,
    maxSeq: after.maxSeq,
    byType: Object.fromEntries(
      Object.entries(after.byType)
        .map(([k, v]) => [k, v - (before.byType[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    ),
  };
}
