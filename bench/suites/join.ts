// `bench join`: build a room one join at a time to --max members (optionally next to ts-mls),
// over the shared harness; the charts are drawn by ../join-plots.ts.
import { resolve } from 'node:path';
import { describeMachine, fmt, round, sum, ROOT } from '../common';
import { BenchRoom } from '../harness';
import type { JoinRecord } from '../join';
import { buildRoom, joinTable, summarizeJoins } from '../join';
import { buildRoomOnWorkers } from '../join-workers';
import { writeJoinPlots } from '../join-plots';
import type { MlsStep } from '../mls';
import { mlsTable, runMls } from '../mls';
import type { BenchOutput, Common, Target, Values } from '../suite-kit';
import {
  finish,
  judged,
  num,
  targetsTable,
  threadsLabel,
  UsageError,
  withTransport,
} from '../suite-kit';

export async function joinSuite(values: Values, c: Common): Promise<BenchOutput> {
  const max = Math.max(1, Math.floor(num(values, 'max', c.quick ? 6 : 100)));
  const compare = values.compare;
  if (compare !== undefined && compare !== 'mls') throw new UsageError('--compare takes mls');
  const mlsMax = Math.floor(num(values, 'mls-max', max));
  const mlsTimeLimit = num(values, 'mls-time-limit', 900);
  const workers = Math.floor(num(values, 'workers', 0));
  if (workers > 0 && (c.transportKind !== 'socket' || values['relay-in-process'])) {
    throw new UsageError('--workers needs the socket transport with the relay in its own process');
  }
  const machine = describeMachine();
  const params = {
    max,
    workers,
    verifyThreads: workers > 0 ? 0 : c.verifyThreads,
    transport: c.transportKind,
    relay: values['relay-in-process'] ? 'in-process' : 'child process',
    compare: compare ?? null,
    mlsMax: compare ? mlsMax : null,
    mlsTimeLimitSeconds: compare ? mlsTimeLimit : null,
  };

  const onJoin = (r: JoinRecord) => {
    if (r.n % 10 === 0 || r.n === max) {
      c.progress(`join n=${r.n} ${fmt(r.seconds, 3)} s, CPU/member ${fmt(r.cpuPerMemberMs, 2)} ms`);
    }
  };
  const records =
    workers > 0
      ? await buildRoomOnWorkers(max, { workers, timeoutMs: c.timeoutMs, onJoin })
      : await withTransport(values, c, max + 5, async (transport) => {
          const room = new BenchRoom(transport, `join-${Date.now().toString(36)}`);
          try {
            return await buildRoom(room, max, { timeoutMs: c.timeoutMs, onJoin });
          } finally {
            room.close();
          }
        });
  const summary: Record<string, unknown> = { ...summarizeJoins(records) };
  let mlsSteps: MlsStep[] | null = null;
  if (compare === 'mls') {
    const mls = await runMls({
      max: mlsMax,
      timeLimitSeconds: mlsTimeLimit,
      onStep: (s) => {
        if (s.n % 10 === 0 || s.n === mlsMax) c.progress(`mls n=${s.n} ${fmt(s.addSeconds, 3)} s`);
      },
    });
    mlsSteps = mls.steps;
    const reached = mls.summary.reached;
    const sameN = records.filter((r) => r.n <= reached);
    const conclaveSameN = sum(sameN.map((r) => r.seconds));
    const conclaveAtReached = records.find((r) => r.n === reached);
    Object.assign(summary, {
      mlsTotalSeconds: mls.summary.totalSeconds,
      mlsLastAddSeconds: mls.summary.lastAddSeconds,
      mlsReached: reached,
      mlsTruncated: mls.summary.truncated,
      mlsLastPerExistingMemberMs: mls.summary.lastPerExistingMemberMs,
      conclaveTotalSecondsAtMlsN: round(conclaveSameN, 3),
      mlsOverConclaveTotal: round(mls.summary.totalSeconds / conclaveSameN, 2),
      mlsOverConclaveLastJoin: conclaveAtReached
        ? round(mls.summary.lastAddSeconds / conclaveAtReached.seconds, 2)
        : null,
    });
  }
  const s = summary as ReturnType<typeof summarizeJoins> & Record<string, number | null>;
  const targets: Target[] = judged(
    [
      {
        measure: 'build a room of 100, one process',
        target: '< 60 s',
        value: `${fmt(s.totalSeconds, 1)} s to ${s.members}${workers > 0 ? ` over ${workers} worker processes (not judged)` : ''}`,
        met: s.members >= 100 && workers === 0 ? s.totalSeconds < 60 : null,
      },
      {
        measure: 'faster than ts-mls in the same run',
        target: '>= 5x',
        value:
          s['mlsOverConclaveTotal'] === undefined
            ? 'not compared'
            : `${fmt(s['mlsOverConclaveTotal'] as number, 1)}x (to ${s['mlsReached']})`,
        met:
          s['mlsOverConclaveTotal'] === undefined || s.members < 100 || workers > 0
            ? null
            : (s['mlsOverConclaveTotal'] as number) >= 5,
      },
      {
        measure: 'CPU per member, 100th join',
        target: '<= 25 ms',
        value: `${fmt(s.cpuPerMemberMs, 2)} ms (n = ${s.members})`,
        met: s.members === 100 ? s.cpuPerMemberMs <= 25 : null,
      },
    ],
    c.quick,
  );
  summary['targets'] = targets;

  if (values.plot) {
    const dir = resolve(ROOT, String(values['plot-dir'] ?? 'docs/benchmarks'));
    writeJoinPlots(dir, records, mlsSteps, machine);
    c.progress(`charts written to ${dir}`);
  }

  const parts = [
    `## join: one join at a time to ${max} (${c.transportKind} transport${workers > 0 ? `, clients over ${workers} worker processes` : `, ${threadsLabel(c.verifyThreads)}`})`,
    joinTable(records),
  ];
  if (mlsSteps) parts.push(`### ts-mls, same command`, mlsTable(mlsSteps));
  parts.push(
    '### summary',
    Object.entries(summary)
      .filter(([k]) => k !== 'targets')
      .map(([k, v]) => `- ${k}: ${String(v)}`)
      .join('\n'),
    targetsTable(targets),
  );
  return {
    report: {
      suite: 'join',
      machine: finish(machine),
      params,
      results: { conclave: records, mls: mlsSteps },
      summary,
    },
    markdown: parts.join('\n\n'),
  };
}
