// The relay bench's load generator: the clients of one thread (a `ClientGroup`) connect and
// join their rooms, the senders among them publish, and every member records the deliveries it
// receives and their latency. `--client raw` drives the relay with bench/relay-wire-client.ts,
// `--client socket.io` with socket.io-client as the app does. bench/relay-threads.ts runs a group
// on this thread or in a worker; bench/relay.ts runs the suite.
import { io, type Socket } from 'socket.io-client';
import { WireClient } from './relay-wire-client';
import type { RelayBenchClient } from './relay-types';

/** What one group of clients (one thread) is asked to do. */
export interface GroupSpec {
  readonly url: string;
  readonly client: RelayBenchClient;
  /** Distinguishes rooms of successive runs against the same relay (nicks linger for grace). */
  readonly runId: string;
  readonly indices: readonly number[];
  readonly rooms: number;
  readonly sendersPerRoom: number;
  readonly payloadBytes: number;
  readonly window: number;
  /** This group's share of the offered rate; undefined saturates. */
  readonly rate: number | undefined;
}

export interface GroupStats {
  deliveries: number;
  messages: number;
  rejected: number;
  latencies: Float64Array;
  lags: Float64Array;
  lagCount: number;
  maxBurst: number;
}

/** Wall-clock milliseconds with sub-microsecond resolution, comparable across threads. */
const timeOrigin = performance.timeOrigin; // a getter that calls into C++: read it once
const now = (): number => timeOrigin + performance.now();

// A message's payload carries what the generator needs, so receivers never parse JSON for it:
// bytes 0-7 the sender's clock when it sent the message (float64), bytes 8-11 the sender's
// connection index (uint32); the rest is zero.
const STAMP_OFFSET = 0;
const SENDER_OFFSET = 8;
export const MIN_PAYLOAD = 12;

/** One connection of the generator, whichever client carries it. */
interface Member {
  readonly index: number;
  readonly room: string;
  readonly sender: boolean;
  inFlight: number;
  publish(data: Buffer, onReply: (ok: boolean) => void): void;
  close(): void;
}

/** The clients of one thread: connect and join, pump messages, record deliveries. */
export class ClientGroup {
  private readonly members: Member[] = [];
  private measuring = false;
  private stopped = false;
  private failure: Error | undefined;
  private pump: Promise<void> | undefined;
  private readonly stats: GroupStats = {
    deliveries: 0,
    messages: 0,
    rejected: 0,
    latencies: new Float64Array(1 << 16),
    lags: new Float64Array(1 << 12),
    lagCount: 0,
    maxBurst: 0,
  };

  constructor(private readonly spec: GroupSpec) {}

  async connect(): Promise<void> {
    try {
      for (const i of this.spec.indices) {
        const room = `bench-${this.spec.runId}-${i % this.spec.rooms}`;
        const sender = Math.floor(i / this.spec.rooms) < this.spec.sendersPerRoom;
        const member =
          this.spec.client === 'raw'
            ? await this.connectRaw(i, room, sender)
            : await this.connectSocketIo(i, room, sender);
        this.members.push(member);
      }
    } catch (err) {
      this.closeAll();
      throw err;
    }
  }

  private async connectRaw(index: number, room: string, sender: boolean): Promise<Member> {
    const member: Member = {
      index,
      room,
      sender,
      inFlight: 0,
      publish: (data, onReply) => client.send(data, onReply),
      close: () => client.close(),
    };
    const client = await WireClient.connect(this.spec.url, {
      onMessage: (data) => this.delivered(member, data),
      onError: (err) => this.fail(err),
    });
    try {
      await client.join({ room, nick: `c${index}` });
    } catch (err) {
      client.close();
      throw err;
    }
    return member;
  }

  private async connectSocketIo(index: number, room: string, sender: boolean): Promise<Member> {
    const socket: Socket = io(this.spec.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((done, fail) => {
      socket.once('connect', () => done());
      socket.once('connect_error', fail);
    });
    const member: Member = {
      index,
      room,
      sender,
      inFlight: 0,
      publish: (data, onReply) =>
        socket.emit('send', { room, data }, (r: { ok: boolean }) => onReply(r.ok)),
      close: () => socket.disconnect(),
    };
    socket.on('event', (event: { type: string; data?: Buffer }) => {
      if (event.type === 'message' && event.data) this.delivered(member, event.data);
    });
    socket.on('disconnect', (reason) => {
      if (!this.stopped) this.fail(new Error(`relay disconnected c${index}: ${reason}`));
    });
    const reply = (await socket
      .timeout(10_000)
      .emitWithAck('join', { room, nick: `c${index}` })) as {
      ok: boolean;
      error?: { code: string };
    };
    if (!reply.ok) {
      socket.disconnect();
      throw new Error(`join ${room} as c${index} failed: ${JSON.stringify(reply)}`);
    }
    return member;
  }

  /** `receiver` got a message; its own message ends one of its sends in flight. */
  private delivered(receiver: Member, data: Buffer): void {
    if (data.readUInt32LE(SENDER_OFFSET) === receiver.index) receiver.inFlight--;
    if (this.measuring) this.record(now() - data.readDoubleLE(STAMP_OFFSET));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.stopped = true;
  }

  private record(latency: number): void {
    const s = this.stats;
    if (s.deliveries === s.latencies.length) {
      const grown = new Float64Array(s.latencies.length * 2);
      grown.set(s.latencies);
      s.latencies = grown;
    }
    s.latencies[s.deliveries++] = latency;
  }

  private recordLag(lag: number): void {
    const s = this.stats;
    if (s.lagCount === s.lags.length) {
      const grown = new Float64Array(s.lags.length * 2);
      grown.set(s.lags);
      s.lags = grown;
    }
    s.lags[s.lagCount++] = lag;
  }

  private send(m: Member): void {
    const data = Buffer.alloc(this.spec.payloadBytes);
    data.writeUInt32LE(m.index, SENDER_OFFSET);
    m.inFlight++;
    if (this.measuring) this.stats.messages++;
    // The stamp is the last thing before the message goes out: latency starts here.
    data.writeDoubleLE(now(), STAMP_OFFSET);
    m.publish(data, (ok) => {
      if (ok) return;
      this.stats.rejected++;
      m.inFlight--;
    });
  }

  start(): void {
    const senders = this.members.filter((m) => m.sender);
    const { rate, window } = this.spec;
    this.pump = (async () => {
      if (rate === undefined) {
        while (!this.stopped) {
          for (const m of senders) while (m.inFlight < window) this.send(m);
          await new Promise((r) => setTimeout(r, 0));
        }
        return;
      }
      if (!senders.length || rate <= 0) return;
      // Message k is due at start + k / rate, stamped when it really goes out. Each timer tick
      // sends what is due (one message per tick at 500 msg/s), then sleeps until the next one
      // is. A tick that comes late, because the thread was busy receiving, sends everything
      // overdue: pacing one message per event-loop turn instead was tried and made the
      // socket.io-client generator, whose turns run longer than the interval, fall behind for
      // good. The lag and the largest burst are reported, so a generator that cannot keep up is
      // visible rather than hidden.
      const interval = 1000 / rate;
      let due = performance.now();
      let next = 0;
      while (!this.stopped) {
        const t = performance.now();
        let burst = 0;
        for (; due <= t; due += interval, burst++) {
          const m = senders[next++ % senders.length];
          if (m) this.send(m);
          if (this.measuring) this.recordLag(t - due);
        }
        if (this.measuring && burst > this.stats.maxBurst) this.stats.maxBurst = burst;
        await new Promise((r) => setTimeout(r, Math.max(1, due - performance.now())));
      }
    })();
  }

  measure(): void {
    this.measuring = true;
  }

  async finish(): Promise<GroupStats> {
    this.measuring = false;
    const failure = this.failure;
    this.stopped = true;
    await this.pump;
    this.closeAll();
    if (failure) throw failure;
    this.stats.latencies = this.stats.latencies.slice(0, this.stats.deliveries);
    this.stats.lags = this.stats.lags.slice(0, this.stats.lagCount);
    return this.stats;
  }

  closeAll(): void {
    this.stopped = true;
    for (const m of this.members) m.close();
  }
}
