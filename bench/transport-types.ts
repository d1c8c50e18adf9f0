// The transport seam of the benchmark harness: how a bench client reaches its relay, and the
// clock its joins are timed with (bench/harness.ts, bench/parallel-transport.ts).
import type { RelayEvent as ClientRelayEvent } from '../src-main/client/relay-link';
import type { VerifyPool } from '../src-main/client/verify-pool';

export interface RelayEvent extends ClientRelayEvent {
  /** Only on the receiving client's own `joined`: the join reply's `members`. */
  membersBefore?: string[];
}

export interface Link {
  /** Joins the room; the client's own `joined` event arrives after this resolves. */
  join(): Promise<void>;
  send(data: Uint8Array): void;
  /** Relay-level leave: a `left` for everyone, then nothing more for this link. */
  leave(): Promise<void>;
  close(): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** The clock joins are timed with, in ms: real time, or the parallel transport's virtual time. */
  now(): number;
  /** Epoch milliseconds on the same clock (the engines' `at`). */
  at(): number;
  /** A timer of client `nick`; returns its cancel. */
  setTimer(nick: string, ms: number, fire: () => void): () => void;
  /** Resolves when nothing but timers is left to happen, where the transport can tell. */
  settled?(): Promise<void>;
  connect(room: string, nick: string, onEvent: (e: RelayEvent) => void): Promise<Link>;
  /** CPU seconds used by a relay running in its own process, where known. */
  relayCpuSeconds(): number | undefined;
  /** Worker threads verifying signatures ahead of the engines, shared by this process's clients. */
  readonly verifyPool: VerifyPool | null;
  close(): Promise<void>;
}

export type TransportKind = 'socket' | 'local' | 'parallel';
