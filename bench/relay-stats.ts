// The relay bench's arithmetic: how connections fall into rooms, how many deliveries one
// message makes, and the groups' statistics merged into latency and pacing percentiles.
import type { GroupStats } from './relay-load';

/**
 * The relay report's percentile: rank floor(p n) of an ascending array (common.ts `percentile`
 * is nearest-rank, one lower at exact multiples); kept so results compare with earlier runs.
 */
export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Rooms get connections round-robin (connection i is in room i mod rooms). */
export function roomSizes(connections: number, rooms: number): number[] {
  return Array.from({ length: rooms }, (_, r) => Math.floor((connections - r - 1) / rooms) + 1);
}

/**
 * Every member of a room receives each of its messages (the sender too), so this is the
 * deliveries one message makes, averaged over the senders, who share the rate equally.
 */
export function receiversPerMessage(
  connections: number,
  rooms: number,
  sendersPerRoom = 2,
): number {
  const sizes = roomSizes(connections, rooms).filter((n) => n > 0);
  let senders = 0;
  let receivers = 0;
  for (const size of sizes) {
    const s = Math.min(size, sendersPerRoom);
    senders += s;
    receivers += s * size;
  }
  return senders ? receivers / senders : 0;
}

/** Every group's numbers together: counts summed, latencies and send lags sorted. */
export interface MergedStats {
  deliveries: number;
  messages: number;
  rejected: number;
  maxBurst: number;
  latencies: Float64Array;
  lags: Float64Array;
}

function sortedConcat(parts: readonly Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all.sort();
}

export function mergeStats(stats: readonly GroupStats[]): MergedStats {
  return {
    deliveries: stats.reduce((n, s) => n + s.deliveries, 0),
    messages: stats.reduce((n, s) => n + s.messages, 0),
    rejected: stats.reduce((n, s) => n + s.rejected, 0),
    maxBurst: stats.reduce((n, s) => Math.max(n, s.maxBurst), 0),
    latencies: sortedConcat(stats.map((s) => s.latencies)),
    lags: sortedConcat(stats.map((s) => s.lags)),
  };
}
