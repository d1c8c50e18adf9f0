// An in-memory ordered relay with a fake clock that drives many engines in one process. Each
// client reads the one room log at its own pace (the scheduler picks who reads next), which is
// how the tests and the simulator explore interleavings.
import { Crypto, cryptoReady, seededRandom } from '../protocol/crypto';
import type { AppEvent, Effect, EngineInput } from '../protocol/events';
import { RoomEngine } from '../protocol/engine';
import type { EngineConfig } from '../protocol/engine';
import type { Nick, Seq, SignKeyPair } from '../protocol/types';
import { encodeFrame, parseFrame } from '../protocol/codec';
import { decode } from '@msgpack/msgpack';
import { asNick, asSeq } from '../protocol/types';
import { xorshift } from './random';

export type LogEvent =
  | { kind: 'joined'; seq: Seq; nick: Nick; at: number }
  | { kind: 'left'; seq: Seq; nick: Nick; at: number }
  | { kind: 'message'; seq: Seq; nick: Nick; data: Uint8Array; at: number };

export interface SimClient {
  nick: Nick;
  engine: RoomEngine;
  crypto: Crypto;
  cursor: number;
  timers: Map<string, number>;
  events: AppEvent[];
  connected: boolean;
  /** A silent client reads but never sends (a member that never answers). */
  silent: boolean;
  /** Transform applied to everything this client sends (for misbehaving clients). */
  tamper?: (data: Uint8Array) => Uint8Array | null;
  membersBefore: Nick[];
  /** Seqs the relay withholds from this client once (a gap it must notice and resume over). */
  drop: Set<number>;
  /** Seqs this client noticed missing (its engine's seq-gap warnings). */
  gaps: number[];
  /**
   * Seqs the relay hides from this client for good, renumbering what follows so that no gap
   * shows (a relay that gives one client a different stream).
   */
  hide: Set<number>;
  /** How many events have been hidden from this client so far. */
  hidden: number;
}

export async function ready(): Promise<void> {
  await cryptoReady();
}

export class SimRelay {
  readonly log: LogEvent[] = [];
  readonly clients = new Map<string, SimClient>();
  private readonly presence = new Set<Nick>();
  clock = 0;
  private rng: () => number;
  /** Shared by all in-process clients: they verify the same frames (see Crypto). */
  private readonly verifyMemo = new Map<string, boolean>();

  constructor(
    private readonly seed = 'sim',
    private readonly config: Partial<EngineConfig> = {},
  ) {
    this.rng = xorshift(seed);
  }

  random(): number {
    return this.rng();
  }

  private append(event: Omit<LogEvent, 'seq' | 'at'> & { data?: Uint8Array }): LogEvent {
    const full = { ...event, seq: asSeq(this.log.length + 1), at: this.clock } as LogEvent;
    this.log.push(full);
    return full;
  }

  /** A new client connects and joins the room. */
  join(name: string, opts: { silent?: boolean; config?: Partial<EngineConfig> } = {}): SimClient {
    const nick = asNick(name);
    const crypto = new Crypto(
      seededRandom(`${this.seed}:${name}:${this.log.length}`),
      this.verifyMemo,
    );
    const engine = new RoomEngine({
      nick,
      identity: crypto.signKeyPair(),
      crypto,
      limboTimeoutMs: 5_000,
      joinRetryMs: 4_000,
      drainMs: 10_000,
      stallMs: 2_000,
      // The simulator measures the join protocol: its rooms admit everyone (admission policy).
      admission: 'open',
      ...this.config,
      ...opts.config,
    });
    const membersBefore = [...this.presence];
    this.presence.add(nick);
    const joined = this.append({ kind: 'joined', nick });
    const client: SimClient = {
      nick,
      engine,
      crypto,
      cursor: joined.seq - 1,
      timers: new Map(),
      events: [],
      connected: true,
      silent: opts.silent ?? false,
      membersBefore,
      drop: new Set(),
      gaps: [],
      hide: new Set(),
      hidden: 0,
    };
    this.clients.set(name, client);
    return client;
  }

  /** The relay reports a departure (connection dropped past the grace period, or left). */
  disconnect(name: string): void {
    const c = this.client(name);
    if (!c.connected) return;
    c.connected = false;
    this.presence.delete(c.nick);
    this.append({ kind: 'left', nick: c.nick });
  }

  /** Simulate a crash and restart: the engine is rebuilt from its own snapshot bytes. */
  restart(name: string): void {
    const c = this.client(name);
    const bytes = c.engine.toSnapshot();
    c.engine = RoomEngine.fromSnapshot(c.engine.config, bytes);
    c.timers.clear();
    this.apply(c, c.engine.handle({ kind: 'restored', at: this.clock }));
  }

  client(name: string): SimClient {
    const c = this.clients.get(name);
    if (!c) throw new Error(`no client ${name}`);
    return c;
  }

  /** Raw bytes appended to the log as if `name` had sent them (a forging relay or client). */
  inject(name: string, data: Uint8Array): void {
    this.append({ kind: 'message', nick: asNick(name), data });
  }

  command(name: string, input: EngineInput): void {
    const c = this.client(name);
    this.apply(c, c.engine.handle(input));
  }

  private apply(c: SimClient, effects: Effect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'send': {
          if (!c.connected || c.silent) break;
          const data = c.tamper ? c.tamper(e.data) : e.data;
          if (data) this.append({ kind: 'message', nick: c.nick, data });
          break;
        }
        case 'event':
          c.events.push(e.event);
          if (e.event.type === 'warning' && e.event.code === 'seq-gap') {
            // What the client's link does on a gap: resume from the last processed seq.
            c.gaps.push(c.engine.lastProcessedSeq + 1);
            c.cursor = c.engine.lastProcessedSeq + c.hidden;
          }
          break;
        case 'arm-timer':
          c.timers.set(e.key, this.clock + e.afterMs);
          break;
        case 'cancel-timer':
          c.timers.delete(e.key);
          break;
        case 'persist':
          break;
      }
    }
  }

  private deliverNext(c: SimClient): boolean {
    const event = this.log[c.cursor];
    if (!event || !c.connected) return false;
    c.cursor++;
    if (c.drop.delete(event.seq)) return true; // withheld by the relay, this once
    if (c.hide.has(event.seq)) {
      c.hidden++;
      return true;
    }
    const seen = c.hidden === 0 ? event : { ...event, seq: asSeq(event.seq - c.hidden) };
    const input: EngineInput =
      seen.kind === 'joined' && seen.nick === c.nick
        ? { ...seen, membersBefore: c.membersBefore }
        : seen;
    this.apply(c, c.engine.handle(input));
    return true;
  }

  private behind(): SimClient[] {
    return [...this.clients.values()].filter((c) => c.connected && c.cursor < this.log.length);
  }

  /** Deliver events in a random interleaving until every connected client is caught up. */
  drain(maxSteps = 200_000): void {
    for (let i = 0; i < maxSteps; i++) {
      const behind = this.behind();
      if (behind.length === 0) return;
      const c = behind[Math.floor(this.rng() * behind.length)] as SimClient;
      this.deliverNext(c);
    }
    throw new Error('drain did not converge');
  }

  /** Deliver up to `count` single events to random clients (partial progress, for interleaving). */
  stepSome(count: number): void {
    for (let i = 0; i < count; i++) {
      const behind = this.behind();
      if (behind.length === 0) return;
      this.deliverNext(behind[Math.floor(this.rng() * behind.length)] as SimClient);
    }
  }

  /** Advance the fake clock, firing timers, until the room is quiet or `maxMs` have passed. */
  settle(maxMs = 60_000): void {
    const end = this.clock + maxMs;
    for (;;) {
      this.drain();
      let next: { c: SimClient; key: string; at: number } | null = null;
      for (const c of this.clients.values()) {
        if (!c.connected) continue;
        for (const [key, at] of c.timers) if (!next || at < next.at) next = { c, key, at };
      }
      if (!next || next.at > end) {
        this.clock = Math.max(this.clock, Math.min(end, next?.at ?? end));
        return;
      }
      this.clock = Math.max(this.clock, next.at);
      next.c.timers.delete(next.key);
      this.apply(next.c, next.c.engine.handle({ kind: 'timer', key: next.key, at: this.clock }));
    }
  }

  say(name: string, text: string): void {
    this.command(name, { kind: 'send-chat', text, at: this.clock });
  }

  connected(): SimClient[] {
    return [...this.clients.values()].filter((c) => c.connected);
  }
}

export function messagesOf(c: SimClient): { from: string; text: string }[] {
  return c.events.flatMap((e) => (e.type === 'message' ? [{ from: e.from, text: e.text }] : []));
}

export function currentOf(c: SimClient): { sid: string; members: string[] } | null {
  const cur = c.engine.current;
  return cur ? { sid: cur.sid, members: cur.members } : null;
}

/** Every connected member shares one current session with exactly the expected members. */
export function assertConverged(relay: SimRelay, expected: string[]): string {
  const members = relay.connected().filter((c) => expected.includes(c.nick));
  const views = members.map((c) => ({
    nick: c.nick,
    cur: currentOf(c),
    member: c.engine.isMember,
  }));
  const sids = new Set(views.map((v) => v.cur?.sid));
  const problems: string[] = [];
  if (sids.size !== 1) problems.push(`different current sids: ${JSON.stringify(views)}`);
  for (const v of views) {
    if (!v.member) problems.push(`${v.nick} is not a member`);
    const got = [...(v.cur?.members ?? [])].sort();
    if (JSON.stringify(got) !== JSON.stringify([...expected].sort())) {
      problems.push(`${v.nick} sees members ${got.join(',')}`);
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return [...sids][0] as string;
}

/** A room built one join at a time, each join settled before the next (the tests' start). */
export function buildRoom(names: string[], seed: string): SimRelay {
  const relay = new SimRelay(seed);
  for (const n of names) {
    relay.join(n);
    relay.settle(20_000);
  }
  assertConverged(relay, names);
  return relay;
}

/**
 * Re-sign a frame after changing its body, with whichever of the client's keys signed it: how a
 * malicious participant (not a forging relay) produces well-signed but wrong contributions.
 */
export function resign(
  c: SimClient,
  data: Uint8Array,
  mutate: (body: Record<string, unknown>) => void,
): Uint8Array {
  const parsed = parseFrame(data);
  if (!parsed.ok) throw new Error('resign: not a frame');
  // The engine's room state (room-state.ts) holds the keys; it is not a public member.
  const engine = (
    c.engine as unknown as {
      state: {
        joinAttempts: Map<string, SignKeyPair>;
        current: { own: { eph: SignKeyPair; next: SignKeyPair | null } | null } | null;
      };
    }
  ).state;
  const keys: SignKeyPair[] = [...engine.joinAttempts.values()];
  const own = engine.current?.own;
  if (own?.next) keys.push(own.next);
  if (own) keys.push(own.eph);
  const key = keys.find((k) =>
    c.crypto.verify(parsed.value.signature, parsed.value.signed, k.publicKey),
  );
  if (!key) throw new Error('resign: no key of ours signed this frame');
  const body = decode(parsed.value.body) as Record<string, unknown>;
  mutate(body);
  return encodeFrame(c.crypto, parsed.value.type, parsed.value.sid, body, key.secretKey);
}
