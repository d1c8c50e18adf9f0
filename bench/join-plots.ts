// The join suite's charts (SVG next to the JSON report): Conclave's build against ts-mls and the
// published (n+1)sec numbers. Drawn by `bench join --plot` and redrawn by summary.ts --plots.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import type { Machine } from './common';
import type { JoinRecord } from './join';
import type { MlsStep } from './mls';
import { lineChart, publishedNPlusOneSec } from './plot';

export function writeJoinPlots(
  dir: string,
  records: readonly JoinRecord[],
  mls: readonly MlsStep[] | null,
  machine: Machine,
): void {
  mkdirSync(dir, { recursive: true });
  const note = `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date.slice(0, 10)}`;
  const conclave = { name: 'Conclave (this run)', color: '#1f77b4' };
  const tsmls = { name: 'ts-mls, MLS ciphersuite 1 (this run)', color: '#d62728' };
  const series = [
    { ...conclave, points: records.map((r) => [r.n, r.seconds] as const) },
    ...(mls ? [{ ...tsmls, points: mls.map((s) => [s.n, s.addSeconds] as const) }] : []),
    {
      name: '(n+1)sec, published (6 cores, XMPP)',
      color: '#7f7f7f',
      dashed: true,
      points: publishedNPlusOneSec(records.length),
    },
  ];
  writeFileSync(
    joinPath(dir, 'join-time.svg'),
    lineChart({
      title: 'Time of the n-th join (all clients in one process)',
      xLabel: 'n (room size after the join)',
      yLabel: 'seconds',
      series,
      note,
    }),
  );
  const cumulative = (points: readonly (readonly [number, number])[]) => {
    let acc = 0;
    return points.map(([n, s]) => {
      acc += s;
      return [n, acc] as const;
    });
  };
  writeFileSync(
    joinPath(dir, 'join-total.svg'),
    lineChart({
      title: 'Time to build a room of n, one join at a time',
      xLabel: 'n',
      yLabel: 'seconds (cumulative)',
      series: [
        { ...conclave, points: cumulative(records.map((r) => [r.n, r.seconds] as const)) },
        ...(mls
          ? [{ ...tsmls, points: cumulative(mls.map((s) => [s.n, s.addSeconds] as const)) }]
          : []),
      ],
      note,
    }),
  );
  writeFileSync(
    joinPath(dir, 'join-cpu.svg'),
    lineChart({
      title: 'Work per member for the n-th join',
      xLabel: 'n',
      yLabel: 'milliseconds',
      series: [
        {
          name: 'Conclave, engine time per member (mean)',
          color: '#1f77b4',
          points: records.map((r) => [r.n, r.cpuPerMemberMs] as const),
        },
        {
          name: 'Conclave, the joiner',
          color: '#17becf',
          dashed: true,
          points: records.map((r) => [r.n, r.joinerCpuMs] as const),
        },
        ...(mls
          ? [
              {
                name: 'ts-mls, processing the commit, per existing member',
                color: '#d62728',
                points: mls
                  .filter((s) => s.n > 2)
                  .map((s) => [s.n, s.perExistingMemberMs] as const),
              },
            ]
          : []),
      ],
      note,
    }),
  );
}
