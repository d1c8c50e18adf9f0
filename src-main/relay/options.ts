// Relay configuration with safe defaults, and the token bucket that enforces the per-connection
// event rate. Defaults suit both the embedded relay (one user's app) and a small team's server.
import type { Logger } from 'pino';
import type { RetentionLimits } from './room-log';

export interface RelayLimits {
  /** Largest `data` accepted in `send`, in bytes. */
  readonly maxPayloadBytes: number;
  /** Sustained client requests (join/send/leave) per second per connection. */
  readonly eventsPerSecond: number;
  /** Requests a connection may make in a burst before the sustained rate applies. */
  readonly burst: number;
  readonly maxRoomsPerConnection: number;
  readonly maxMembersPerRoom: number;
  /**
   * Bytes queued for one client that its connection has not taken yet. A client that stops
   * reading is disconnected past this (it may resume), so it cannot exhaust the relay's memory.
   */
  readonly maxBufferedBytes: number;
}

export interface RelayOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** When set, `join` must carry the same `token` (compared in constant time). */
  readonly token: string | undefined;
  /** When set, rooms live in Redis Streams shared by every relay node using the same URL. */
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key; nodes serving the same rooms must use the same one. */
  readonly redisKeyPrefix: string;
  /** How often a Redis-backed node renews the leases of its attached members. */
  readonly redisHeartbeatMs: number;
  /** How long a dropped connection's nick stays reserved for a resume. */
  readonly graceMs: number;
  readonly retention: RetentionLimits;
  readonly limits: RelayLimits;
  readonly logger: Logger | undefined;
  /** Also export Node process metrics (CPU, memory, event loop) on /metrics. */
  readonly processMetrics: boolean;
  /**
   * Writes to one client are coalesced for at most this long after the previous flush (see
   * batching.ts); an idle relay still writes at the end of the current event-loop turn.
   */
  readonly flushIntervalMs: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxPayloadBytes: 64 * 1024,
  eventsPerSecond: 100,
  burst: 200,
  maxRoomsPerConnection: 32,
  maxMembersPerRoom: 100,
  maxBufferedBytes: 8 * 1024 * 1024,
};

export const DEFAULT_OPTIONS: RelayOptions = {
  host: '127.0.0.1',
  port: 0,
  token: undefined,
  redisUrl: undefined,
  redisKeyPrefix: 'conclave:relay:',
  redisHeartbeatMs: 5_000,
  graceMs: 15_000,
  // Retention only has to outlive the grace period so resumes succeed; the relay is not a
  // history store. 2000 events x 64 KiB bounds a room at 128 MiB in the worst case.
  retention: { count: 2_000, ageMs: 5 * 60_000 },
  limits: DEFAULT_LIMITS,
  logger: undefined,
  processMetrics: false,
  flushIntervalMs: 1,
};

/** Options as callers may give them: any subset, with nested limits merged field by field. */
export type RelayOptionsInput = Partial<Omit<RelayOptions, 'limits' | 'retention'>> & {
  readonly limits?: Partial<RelayLimits>;
  readonly retention?: Partial<RetentionLimits>;
};

export function resolveOptions(input: RelayOptionsInput = {}): RelayOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, val]) => val !== undefined));
  const options: RelayOptions = {
    ...DEFAULT_OPTIONS,
    ...defined,
    limits: { ...DEFAULT_LIMITS, ...input.limits },
    retention: { ...DEFAULT_OPTIONS.retention, ...input.retention },
  };
  const positive: [string, number][] = [
    ['limits.maxPayloadBytes', options.limits.maxPayloadBytes],
    ['limits.eventsPerSecond', options.limits.eventsPerSecond],
    ['limits.burst', options.limits.burst],
    ['limits.maxRoomsPerConnection', options.limits.maxRoomsPerConnection],
    ['limits.maxMembersPerRoom', options.limits.maxMembersPerRoom],
    ['limits.maxBufferedBytes', options.limits.maxBufferedBytes],
    ['retention.count', options.retention.count],
    ['retention.ageMs', options.retention.ageMs],
    ['redisHeartbeatMs', options.redisHeartbeatMs],
  ];
  for (const [name, value] of positive) {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be > 0`);
  }
  if (!(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65_535)) {
    throw new RangeError('port must be an integer in 0..65535');
  }
  if (!(Number.isFinite(options.graceMs) && options.graceMs >= 0)) {
    throw new RangeError('graceMs must be >= 0');
  }
  if (!(Number.isFinite(options.flushIntervalMs) && options.flushIntervalMs >= 0)) {
    throw new RangeError('flushIntervalMs must be >= 0');
  }
  if (options.flushIntervalMs > 50) throw new RangeError('flushIntervalMs must be <= 50');
  if (options.token === '') throw new RangeError('token must not be empty');
  return options;
}

/** Classic token bucket: `burst` tokens, refilled continuously at `ratePerSecond`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
