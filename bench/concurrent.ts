// `concurrent`: k joiners arriving at the same moment into a room of n. For each (n, k) of the
// grid, in a fresh room:
//   1. build the room to n members one join at a time (not part of the result);
//   2. the baseline: one extra client joins (room n -> n + 1), timed like `join`, then leaves
//      (LEAVE, then the relay leave) and the room settles back to n;
//   3. k connected clients send their relay `join` in the same event-loop turn; we time until
//      all n + k clients have one and the same (n + k)-member session current; then they all
//      leave and the room settles back to n.
// Steps 2 and 3 alternate five times (`--trials`), and each side's median counts (the record's traffic and
// work are those of the median concurrent trial): one sample of either on a shared machine moved
// the ratio by half.
// Session rounds: the sessions that became current in the first member's view during step 3
// (one per admission wave). Messages and bytes: everything through the relay during step 3.
import type { BenchClient, ClientStats, Transport } from './harness';
import { BenchRoom, diffStats, diffTraffic } from './harness';
import { buildRoom, measuredJoin, type JoinRecord } from './join';

/** Trials of each side per cell, alternating (the medians count): `--trials`, 5 unless told. */
const TRIALS = 5;
import { fmt, fmtInt, markdownTable, round, sum } from './common';

export interface ConcurrentOptions {
  ns: number[];
  ks: number[];
  /** Trials of each side per cell (default TRIALS). */
  trials?: number;
  timeoutMs?: number;
  onCell?: (r: ConcurrentRecord) => void;
}

export interface ConcurrentRecord {
  n: number;
  k: number;
  /** Until all k were members of one common session with everybody. */
  seconds: number;
  /** One join into the same room of n, in the same run: the median of `singleJoinSamples`. */
  singleJoinSeconds: number;
  singleJoinSamples: number[];
  /** Every concurrent trial's time; `seconds` is their median. */
  samples: number[];
  /** seconds / singleJoinSeconds. */
  ratio: number;
  allAdmitted: boolean;
  /** Sessions that became current (in the first member's view) while the k were admitted. */
  sessionRounds: number;
  messages: number;
  bytes: number;
  deliveries: number;
  bytesDelivered: number;
  singleJoinMessages: number;
  /** The concurrent phase's messages by frame type. */
  messagesByType: Record<string, number>;
  /** Signature verifications: mean over the n members already there, and over the k joiners. */
  verifyPerMember: number;
  verifyPerJoiner: number;
  singleJoinVerifyPerMember: number;
  /** Engine CPU of all members during the concurrent joins, summed. */
  cpuMs: number;
  /** Engine CPU of the busiest member. */
  maxMemberCpuMs: number;
  /** Engine CPU, mean over the n members already there, and over the k joiners. */
  memberCpuMs: number;
  joinerCpuMs: number;
  /** The single join's (median trial): all clients' engine CPU, a member's, the joiner's. */
  singleJoinCpuMs: number;
  singleJoinMemberCpuMs: number;
  singleJoinJoinerCpuMs: number;
  /**
   * memberCpuMs / singleJoinMemberCpuMs: what one member's machine spends admitting the k
   * against one join; unlike the time, it does not add up over the clients sharing a process.
   */
  memberCpuRatio: number;
  buildSeconds: number;
}

/** k clients join at once; timed until all are members; then they leave again. */
async function concurrentTrial(
  room: BenchRoom,
  n: number,
  k: number,
  trial: number,
  timeoutMs: number,
): Promise<ConcurrentRecord> {
  const joiners: BenchClient[] = [];
  for (let i = 1; i <= k; i++) joiners.push(await room.connect(`new${trial}-${i}`));
  const observer = room.clients[0] as BenchClient;
  const before = new Map<BenchClient, ClientStats>(room.clients.map((c) => [c, c.snapshot()]));
  const rounds0 = observer.stats.currentSessions;
  const traffic = { ...room.traffic, byType: { ...room.traffic.byType } };
  const t0 = room.transport.now();
  const joining = Promise.all(joiners.map((j) => room.join(j)));
  let allAdmitted = true;
  let doneAt = t0;
  try {
    doneAt = await room.waitConverged(n + k, timeoutMs);
  } catch (err) {
    allAdmitted = false;
    console.error(String(err));
  }
  await joining;
  await room.quiet();
  const t = diffTraffic(room.traffic, traffic);
  const deltas = room.clients.map((c) => ({ c, d: diffStats(c.snapshot(), before.get(c)) }));
  const cpu = deltas.map((x) => x.d.cpuMicros);
  const verifies = (joiner: boolean) => {
    const v = deltas.filter((x) => joiners.includes(x.c) === joiner);
    return sum(v.map((x) => x.d.counters.verify)) / Math.max(1, v.length);
  };
  const cpuMean = (joiner: boolean) => {
    const v = deltas.filter((x) => joiners.includes(x.c) === joiner);
    return sum(v.map((x) => x.d.cpuMicros)) / 1000 / Math.max(1, v.length);
  };
  const seconds = allAdmitted ? (doneAt - t0) / 1000 : timeoutMs / 1000;
  const record: ConcurrentRecord = {
    n,
    k,
    seconds,
    singleJoinSeconds: 0,
    singleJoinSamples: [],
    samples: [],
    ratio: 0,
    allAdmitted,
    sessionRounds: observer.stats.currentSessions - rounds0,
    messages: t.messages,
    bytes: t.bytes,
    deliveries: t.deliveries,
    bytesDelivered: t.bytesDelivered,
    singleJoinMessages: 0,
    messagesByType: t.byType,
    verifyPerMember: verifies(false),
    verifyPerJoiner: verifies(true),
    singleJoinVerifyPerMember: 0,
    cpuMs: sum(cpu) / 1000,
    maxMemberCpuMs: Math.max(...cpu) / 1000,
    memberCpuMs: cpuMean(false),
    joinerCpuMs: cpuMean(true),
    singleJoinCpuMs: 0,
    singleJoinMemberCpuMs: 0,
    singleJoinJoinerCpuMs: 0,
    memberCpuRatio: 0,
    buildSeconds: 0,
  };
  // Back to n for the next trial: all k leave at once.
  await Promise.all(joiners.map((j) => room.leave(j)));
  await room.waitConverged(n, timeoutMs);
  await room.quiet();
  return record;
}

export async function runConcurrent(
  transport: Transport,
  options: ConcurrentOptions,
): Promise<ConcurrentRecord[]> {
  const records: ConcurrentRecord[] = [];
  const timeoutMs = options.timeoutMs ?? 120_000;
  for (const n of options.ns) {
    for (const k of options.ks) {
      const room = new BenchRoom(transport, `concurrent-${n}-${k}-${Date.now().toString(36)}`);
      try {
        const build = await buildRoom(room, n, { timeoutMs });
        const singles: JoinRecord[] = [];
        const trials: ConcurrentRecord[] = [];
        for (let trial = 1; trial <= (options.trials ?? TRIALS); trial++) {
          const single = await measuredJoin(room, `single${trial}`, timeoutMs);
          singles.push(single.record);
          await room.leave(single.client);
          await room.waitConverged(n, timeoutMs);
          await room.quiet();
          trials.push(await concurrentTrial(room, n, k, trial, timeoutMs));
        }
        const median = <T>(xs: T[], key: (x: T) => number): T =>
          [...xs].sort((x, y) => key(x) - key(y))[Math.floor(xs.length / 2)] as T;
        const single = median(singles, (r) => r.seconds);
        const mid = median(trials, (r) => r.seconds);
        const record: ConcurrentRecord = {
          ...mid,
          singleJoinSeconds: single.seconds,
          singleJoinSamples: singles.map((r) => round(r.seconds, 4)),
          samples: trials.map((r) => round(r.seconds, 4)),
          ratio: mid.seconds / single.seconds,
          allAdmitted: trials.every((r) => r.allAdmitted),
          singleJoinMessages: single.messages,
          singleJoinVerifyPerMember: single.verifyPerMember,
          singleJoinCpuMs: single.cpuMs,
          singleJoinMemberCpuMs: single.existingMemberCpuMs,
          singleJoinJoinerCpuMs: single.joinerCpuMs,
          memberCpuRatio: mid.memberCpuMs / Math.max(1e-9, single.existingMemberCpuMs),
          buildSeconds: sum(build.map((r) => r.seconds)),
        };
        records.push(record);
        options.onCell?.(record);
      } finally {
        room.close();
      }
    }
  }
  return records;
}

export interface ConcurrentSummary {
  cells: number;
  allAdmitted: boolean;
  /** The target cell, k = 10 into n = 20, when it was run. */
  n20k10Ratio: number | null;
  n20k10Seconds: number | null;
  maxRatio: number;
}

export function summarizeConcurrent(records: readonly ConcurrentRecord[]): ConcurrentSummary {
  const target = records.find((r) => r.n === 20 && r.k === 10);
  return {
    cells: records.length,
    allAdmitted: records.every((r) => r.allAdmitted),
    n20k10Ratio: target ? round(target.ratio, 2) : null,
    n20k10Seconds: target ? round(target.seconds, 3) : null,
    maxRatio: round(Math.max(...records.map((r) => r.ratio)), 2),
  };
}

export function concurrentTable(records: readonly ConcurrentRecord[]): string {
  return markdownTable(
    [
      'n',
      'k',
      'all admitted',
      'time s',
      'single join s',
      'ratio',
      'session rounds',
      'messages',
      'bytes',
      'bytes delivered',
      'verify/member',
      'single join verify/member',
      'CPU all clients ms (single join)',
      'CPU per member ms (single join)',
      'CPU per joiner ms (single join)',
      'member CPU ratio',
    ],
    records.map((r) => [
      r.n,
      r.k,
      r.allAdmitted ? 'yes' : 'NO',
      fmt(r.seconds, 3),
      fmt(r.singleJoinSeconds, 3),
      fmt(r.ratio, 2),
      r.sessionRounds,
      r.messages,
      fmtInt(r.bytes),
      fmtInt(r.bytesDelivered),
      fmt(r.verifyPerMember, 0),
      fmt(r.singleJoinVerifyPerMember, 0),
      `${fmt(r.cpuMs, 0)} (${fmt(r.singleJoinCpuMs, 0)})`,
      `${fmt(r.memberCpuMs, 1)} (${fmt(r.singleJoinMemberCpuMs, 1)})`,
      `${fmt(r.joinerCpuMs, 1)} (${fmt(r.singleJoinJoinerCpuMs, 1)})`,
      fmt(r.memberCpuRatio, 2),
    ]),
  );
}
