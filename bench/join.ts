// `join`: build a room one join at a time up to N through the relay, all clients in this process.
// For the n-th join (the room grows from n - 1 to n members) we measure:
//   - its wall time, from the joiner's relay `join` request until every one of the n clients has
//     the same n-member session current (the joiner's connection is opened beforehand: a client
//     already connected to its relay, as the app is);
//   - the CPU time of every member's own engine work during that join (process.cpuUsage around
//     each engine.handle call), summed and per member, and the crypto operations per member;
//   - messages and bytes through the relay (each message once, and every delivery).
import { Crypto, systemRandom, type CryptoCounters } from '../src-main/protocol/crypto';
import type { BenchClient, BenchRoom, ClientStats, Traffic } from './harness';
import { diffStats, diffTraffic } from './harness';
import { fmt, fmtInt, markdownTable, round, sum } from './common';
import { pickRows } from './mls';

export interface JoinRecord {
  /** Room size after this join. */
  n: number;
  seconds: number;
  /** Engine CPU of all n members during this join, summed. */
  cpuMs: number;
  /** `cpuMs / n`: the mean over the n members, the joiner included. */
  cpuPerMemberMs: number;
  /** Mean over the n - 1 members that were already there. */
  existingMemberCpuMs: number;
  maxMemberCpuMs: number;
  joinerCpuMs: number;
  /** Everything this process did during the join: engines, Socket.IO, the harness. */
  processCpuMs: number;
  /**
   * Wall time during the join when this process's event loop was idle, i.e. every client was
   * waiting for the relay (performance.eventLoopUtilization).
   */
  idleSeconds: number;
  /** The relay process's CPU during the join (child-process relay on Linux only). */
  relayCpuMs: number | null;
  messages: number;
  bytes: number;
  deliveries: number;
  bytesDelivered: number;
  messagesByType: Record<string, number>;
  /** Crypto operations of one existing member (mean) and of the joiner. */
  verifyPerMember: number;
  signPerMember: number;
  scalarmultPerMember: number;
  verifyJoiner: number;
  signJoiner: number;
  scalarmultJoiner: number;
  /** Crypto operations of all n members during this join, summed. */
  cryptoOps: Omit<CryptoCounters, 'ownVerifySkipped' | 'verifyOffThread'>;
  /** Of `cryptoOps.verify`, those done ahead on the verify pool's threads. */
  verifyOffThread: number;
  /** The verify pool's thread time for this join, all members (part of `cpuMs`). */
  offThreadMs: number;
}

const mean = (xs: number[]) => (xs.length ? sum(xs) / xs.length : 0);

/** One measured join of a fresh client `nick` into `room`. */
export async function measuredJoin(
  room: BenchRoom,
  nick: string,
  timeoutMs: number,
): Promise<{ record: JoinRecord; client: BenchClient }> {
  const client = await room.connect(nick);
  await room.quiet();
  const before = new Map<BenchClient, ClientStats>(room.clients.map((c) => [c, c.snapshot()]));
  const traffic = { ...room.traffic, byType: { ...room.traffic.byType } };
  const relayCpu = room.transport.relayCpuSeconds();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const t0 = room.transport.now();
  const joining = room.join(client);
  const n = room.clients.length;
  const doneAt = await room.waitConverged(n, timeoutMs);
  await joining;
  const seconds = (doneAt - t0) / 1000;
  const idleMs = performance.eventLoopUtilization(elu).idle;
  await room.quiet(); // anything the join still sends belongs to it
  const processCpu = process.cpuUsage(cpu);
  const relayCpuAfter = room.transport.relayCpuSeconds();
  const record = joinRecord({
    n,
    seconds,
    members: room.clients.map((c) => ({
      stats: diffStats(c.snapshot(), before.get(c)),
      joiner: c === client,
    })),
    processCpuMs: (processCpu.user + processCpu.system) / 1000,
    idleSeconds: idleMs / 1000,
    relayCpuMs:
      relayCpu === undefined || relayCpuAfter === undefined
        ? null
        : (relayCpuAfter - relayCpu) * 1000,
    traffic: diffTraffic(room.traffic, traffic),
  });
  return { client, record };
}

/** A join's record from each member's measurements during it (the joiner's marked). */
export function joinRecord(input: {
  n: number;
  seconds: number;
  members: readonly { stats: ClientStats; joiner: boolean }[];
  processCpuMs: number;
  idleSeconds: number;
  relayCpuMs: number | null;
  traffic: Pick<Traffic, 'messages' | 'bytes' | 'deliveries' | 'bytesDelivered' | 'byType'>;
}): JoinRecord {
  const all = input.members.map((m) => m.stats);
  const existing = input.members.filter((m) => !m.joiner).map((m) => m.stats);
  const joiner = input.members.find((m) => m.joiner)?.stats;
  if (!joiner) throw new Error('no measurements for the joiner');
  const cpuMs = sum(all.map((d) => d.cpuMicros)) / 1000;
  const total = (key: keyof JoinRecord['cryptoOps']) => sum(all.map((d) => d.counters[key]));
  const t = input.traffic;
  return {
    n: input.n,
    seconds: input.seconds,
    cpuMs,
    cpuPerMemberMs: cpuMs / input.n,
    existingMemberCpuMs: mean(existing.map((d) => d.cpuMicros / 1000)),
    maxMemberCpuMs: Math.max(...all.map((d) => d.cpuMicros / 1000)),
    joinerCpuMs: joiner.cpuMicros / 1000,
    processCpuMs: input.processCpuMs,
    idleSeconds: input.idleSeconds,
    relayCpuMs: input.relayCpuMs,
    messages: t.messages,
    bytes: t.bytes,
    deliveries: t.deliveries,
    bytesDelivered: t.bytesDelivered,
    messagesByType: t.byType,
    verifyPerMember: mean(existing.map((d) => d.counters.verify)),
    signPerMember: mean(existing.map((d) => d.counters.sign)),
    scalarmultPerMember: mean(existing.map((d) => d.counters.scalarmult)),
    verifyJoiner: joiner.counters.verify,
    signJoiner: joiner.counters.sign,
    scalarmultJoiner: joiner.counters.scalarmult,
    cryptoOps: {
      verify: total('verify'),
      sign: total('sign'),
      scalarmult: total('scalarmult'),
      conversions: total('conversions'),
    },
    verifyOffThread: sum(all.map((d) => d.counters.verifyOffThread)),
    offThreadMs: sum(all.map((d) => d.offThreadMicros)) / 1000,
  };
}

/** Grows `room` to `size` members one join at a time; returns one record per join. */
export async function buildRoom(
  room: BenchRoom,
  size: number,
  options: { prefix?: string; timeoutMs?: number; onJoin?: (r: JoinRecord) => void } = {},
): Promise<JoinRecord[]> {
  const records: JoinRecord[] = [];
  for (let i = room.clients.length + 1; i <= size; i++) {
    const nick = `${options.prefix ?? 'm'}${String(i).padStart(3, '0')}`;
    const { record } = await measuredJoin(room, nick, options.timeoutMs ?? 120_000);
    records.push(record);
    options.onJoin?.(record);
  }
  return records;
}

export interface JoinSummary {
  members: number;
  /** Sum of the N joins' wall times (connection setup and the pauses between joins excluded). */
  totalSeconds: number;
  lastJoinSeconds: number;
  /** Last join: engine CPU summed over its members, divided by the members. */
  cpuPerMemberMs: number;
  lastExistingMemberCpuMs: number;
  lastJoinerCpuMs: number;
  lastMaxMemberCpuMs: number;
  /**
   * Cross-check of `cpuPerMemberMs` that preemption cannot inflate: the whole process's CPU
   * (process.cpuUsage) during the last join, divided by n. It also counts the Socket.IO client
   * work and the harness, so it is an upper bound on the engines' share.
   */
  lastProcessCpuPerMemberMs: number;
  lastVerifyPerMember: number;
  lastScalarmultPerMember: number;
  lastMessages: number;
  lastBytes: number;
  /** Engine CPU summed over all joins and members. */
  totalEngineCpuSeconds: number;
  totalProcessCpuSeconds: number;
  /** Event-loop idle time of this process during the joins (waiting on the relay), summed. */
  totalIdleSeconds: number;
  totalRelayCpuSeconds: number | null;
  /**
   * What the build's public-key operations alone cost on this machine: every member's verify,
   * sign, X25519 and key conversion count, times each operation's cost measured in this process
   * right after the build. No implementation of this protocol with libsodium on one thread can
   * build the room faster than this.
   */
  cryptoFloorSeconds: number;
  /** `cryptoFloorSeconds` split by operation: count x measured microseconds each = seconds. */
  cryptoFloor: string;
  totalVerifies: number;
  verifyMicros: number;
  /** `cryptoFloorSeconds / totalSeconds`. */
  cryptoFloorShare: number;
  /** Verifications done on the verify pool's threads instead of the engines' thread. */
  totalVerifyOffThread: number;
  /** The verify pool's thread time over the build (included in `totalEngineCpuSeconds`). */
  totalOffThreadSeconds: number;
}

/** Microseconds per libsodium operation, measured here on 300-byte messages and fresh keys. */
export function measureCryptoCosts(
  iterations = 2000,
): Record<keyof JoinRecord['cryptoOps'], number> {
  const crypto = new Crypto(systemRandom);
  const keys = Array.from({ length: 16 }, () => crypto.signKeyPair());
  const messages = Array.from({ length: 16 }, () => systemRandom(300));
  const signatures = messages.map((m, i) =>
    crypto.sign(m, (keys[i] as { secretKey: Uint8Array }).secretKey),
  );
  const na = crypto.na;
  const time = (op: (i: number) => void): number => {
    for (let i = 0; i < 200; i++) op(i); // warm up
    const t = performance.now();
    for (let i = 0; i < iterations; i++) op(i);
    return ((performance.now() - t) * 1000) / iterations;
  };
  const at = <T>(xs: readonly T[], i: number): T => xs[i % xs.length] as T;
  const curve = keys.map((k) => na.skToCurve(k.secretKey));
  const curvePublic = keys.map((k) => na.pkToCurve(k.publicKey));
  return {
    verify: time((i) => {
      if (!na.verify(at(signatures, i), at(messages, i), at(keys, i).publicKey)) {
        throw new Error('verification failed while measuring');
      }
    }),
    sign: time((i) => na.sign(at(messages, i), at(keys, i).secretKey)),
    scalarmult: time((i) => na.scalarmult(at(curve, i), at(curvePublic, i + 1))),
    conversions: time((i) => na.pkToCurve(at(keys, i).publicKey)),
  };
}

export function summarizeJoins(
  records: readonly JoinRecord[],
  costs: Record<keyof JoinRecord['cryptoOps'], number> = measureCryptoCosts(),
): JoinSummary {
  const last = records[records.length - 1] as JoinRecord;
  const relay = records.map((r) => r.relayCpuMs);
  const ops = (['verify', 'sign', 'scalarmult', 'conversions'] as const).map((op) => {
    const count = sum(records.map((r) => r.cryptoOps[op]));
    return { op, count, micros: costs[op], seconds: (count * costs[op]) / 1e6 };
  });
  const floor = sum(ops.map((o) => o.seconds));
  const total = sum(records.map((r) => r.seconds));
  return {
    members: last.n,
    totalSeconds: round(total, 3),
    lastJoinSeconds: round(last.seconds, 4),
    cpuPerMemberMs: round(last.cpuPerMemberMs, 3),
    lastExistingMemberCpuMs: round(last.existingMemberCpuMs, 3),
    lastJoinerCpuMs: round(last.joinerCpuMs, 3),
    lastMaxMemberCpuMs: round(last.maxMemberCpuMs, 3),
    lastProcessCpuPerMemberMs: round(last.processCpuMs / last.n, 3),
    lastVerifyPerMember: round(last.verifyPerMember, 2),
    lastScalarmultPerMember: round(last.scalarmultPerMember, 2),
    lastMessages: last.messages,
    lastBytes: last.bytes,
    totalEngineCpuSeconds: round(sum(records.map((r) => r.cpuMs)) / 1000, 3),
    totalProcessCpuSeconds: round(sum(records.map((r) => r.processCpuMs)) / 1000, 3),
    totalIdleSeconds: round(sum(records.map((r) => r.idleSeconds)), 3),
    totalRelayCpuSeconds: relay.some((r) => r === null)
      ? null
      : round(sum(relay as number[]) / 1000, 3),
    cryptoFloorSeconds: round(floor, 3),
    cryptoFloor: ops
      .map((o) => `${o.op} ${fmtInt(o.count)} x ${fmt(o.micros, 2)} µs = ${fmt(o.seconds, 2)} s`)
      .join('; '),
    totalVerifies: ops[0]?.count ?? 0,
    verifyMicros: round(costs.verify, 2),
    cryptoFloorShare: round(total > 0 ? floor / total : 0, 3),
    totalVerifyOffThread: sum(records.map((r) => r.verifyOffThread)),
    totalOffThreadSeconds: round(sum(records.map((r) => r.offThreadMs)) / 1000, 3),
  };
}

export function joinTable(records: readonly JoinRecord[]): string {
  const rows = pickRows(records.map((r) => r.n)).map((n) => {
    const r = records.find((x) => x.n === n) as JoinRecord;
    return [
      r.n,
      fmt(r.seconds, 3),
      fmt(r.cpuMs, 1),
      fmt(r.cpuPerMemberMs, 2),
      fmt(r.existingMemberCpuMs, 2),
      fmt(r.joinerCpuMs, 2),
      fmt(r.verifyPerMember, 0),
      fmt(r.scalarmultPerMember, 0),
      r.verifyJoiner,
      r.scalarmultJoiner,
      r.messages,
      fmtInt(r.bytes),
      fmtInt(r.bytesDelivered),
    ];
  });
  return markdownTable(
    [
      'n',
      'n-th join s',
      'CPU all members ms',
      'CPU per member ms',
      'existing member ms',
      'joiner ms',
      'verify/member',
      'scalarmult/member',
      'verify joiner',
      'scalarmult joiner',
      'messages',
      'bytes',
      'bytes delivered',
    ],
    rows,
  );
}
