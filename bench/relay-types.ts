// The relay suite's options and result record, shared by the load generator and its report.

/** The load generator's client: the raw wire client (default) or the real socket.io-client. */
export type RelayBenchClient = 'raw' | 'socket.io';
export const RELAY_BENCH_CLIENTS: readonly RelayBenchClient[] = ['raw', 'socket.io'];

export interface RelayBenchOptions {
  readonly connections: number;
  readonly rooms: number;
  readonly seconds: number;
  /** Messages per second offered across all rooms; omit to saturate. */
  readonly rate?: number;
  /** Senders per room (the other members only receive). */
  readonly sendersPerRoom?: number;
  readonly payloadBytes?: number;
  /** Messages each sender may have in flight when saturating. */
  readonly window?: number;
  /** Worker threads hosting the clients; 0 keeps them on the calling thread. */
  readonly workers?: number;
  /** Use an already running relay instead of starting one. */
  readonly url?: string;
  readonly inProcess?: boolean;
  /** Which client the generator uses (default raw: see bench/relay-wire-client.ts). */
  readonly client?: RelayBenchClient;
}

export interface RelayBenchResult {
  readonly connections: number;
  readonly rooms: number;
  readonly client: RelayBenchClient;
  readonly mode: 'saturate' | 'rate';
  /** Why this run was made: saturation, half of it, a fixed deliveries/s, or --rate. */
  readonly phase: 'saturate' | 'half-saturation' | 'deliveries' | 'rate';
  readonly offeredRate: number | undefined;
  /** Offered deliveries per second (messages/s x receivers per message), rate runs only. */
  readonly offeredDeliveriesPerSecond: number | undefined;
  readonly seconds: number;
  readonly messages: number;
  readonly messagesPerSecond: number;
  readonly deliveries: number;
  readonly deliveriesPerSecond: number;
  /** From each message's own send stamp (written just before it went out) to each receipt. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /**
   * How far behind its schedule the pacer sent messages (rate runs): 99th percentile, largest,
   * and the most messages one timer tick sent. Latency does not include this lag (each message
   * is stamped when it is really sent); a large lag means the generator's thread could not keep
   * up, and its bursts then queue behind each other at the relay.
   */
  readonly pacing:
    { readonly lagP99Ms: number; readonly lagMaxMs: number; readonly maxBurst: number } | undefined;
  readonly rejected: number;
  /** Relay CPU time per delivery, when the relay ran as a child process on Linux. */
  readonly relayCpuMicrosPerDelivery: number | undefined;
  /** The generator process's CPU time per delivery (all its threads, user + system). */
  readonly clientCpuMicrosPerDelivery: number;
  /**
   * Growth of the relay process's resident memory from just after it started to when every
   * connection had joined, divided by the connections (an upper bound: it includes the heap the
   * relay grows anyway). Only when the relay ran as a child process on Linux.
   */
  readonly relayMemoryPerConnectionBytes: number | undefined;
  /** The relay process's resident memory once every connection had joined. */
  readonly relayRssBytes: number | undefined;
}
