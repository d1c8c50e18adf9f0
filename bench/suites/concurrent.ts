// `bench concurrent`: k simultaneous joiners into a room of n, against single joins.
import { describeMachine, fmt } from '../common';
import { concurrentTable, runConcurrent, summarizeConcurrent } from '../concurrent';
import type { BenchOutput, Common, Target, Values } from '../suite-kit';
import {
  finish,
  judged,
  latencyOf,
  list,
  relayMicrosOf,
  targetsTable,
  transportLabel,
  withTransport,
} from '../suite-kit';

export async function concurrentSuite(values: Values, c: Common): Promise<BenchOutput> {
  const ns = list(values, 'n', c.quick ? [3] : [5, 20, 50]);
  const ks = list(values, 'k', c.quick ? [2] : [2, 5, 10]);
  const machine = describeMachine();
  const records = await withTransport(
    values,
    c,
    Math.max(...ns) + Math.max(...ks) + 5,
    (transport) =>
      runConcurrent(transport, {
        ns,
        ks,
        timeoutMs: c.timeoutMs,
        onCell: (r) =>
          c.progress(`concurrent n=${r.n} k=${r.k}: ${fmt(r.seconds, 3)} s, ratio ${fmt(r.ratio)}`),
      }),
  );
  const summary = summarizeConcurrent(records);
  const target = records.find((r) => r.n === 20 && r.k === 10);
  const targets: Target[] = judged(
    [
      {
        measure: 'k = 10 simultaneous joiners into n = 20',
        target: 'all admitted, <= 2x a single join',
        value: target
          ? `${target.allAdmitted ? 'all admitted' : 'NOT all admitted'}, ${fmt(target.ratio, 1)}x${
              c.transportKind === 'parallel'
                ? ` (a core per client, relay latency ${latencyOf(values)} ms)`
                : ` (${c.transportKind}: all ${target.n + target.k} clients share this machine)`
            }`
          : 'not run',
        met: target ? target.allAdmitted && target.ratio <= 2 : null,
      },
    ],
    c.quick,
  );
  return {
    report: {
      suite: 'concurrent',
      machine: finish(machine),
      params: {
        ns,
        ks,
        transport: c.transportKind,
        verifyThreads: c.verifyThreads,
        latencyMs: latencyOf(values),
        relayMicrosPerDelivery:
          c.transportKind === 'parallel' ? (relayMicrosOf(values) ?? 8) : null,
      },
      results: records,
      summary: { ...summary, targets },
    },
    markdown: [
      `## concurrent: k joiners at once into a room of n (${transportLabel(values, c)})`,
      concurrentTable(records),
      targetsTable(targets),
    ].join('\n\n'),
  };
}
