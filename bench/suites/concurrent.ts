// `bench concurrent`: k simultaneous joiners into a room of n, against single joins.
import { describeMachine, fmt } from '../common';
import { concurrentTable, runConcurrent, summarizeConcurrent } from '../concurrent';
import { ParallelTransport } from '../parallel-transport';
import type { BenchOutput, Common, Target, Values } from '../suite-kit';
import {
  finish,
  num,
  judged,
  latencyOf,
  list,
  relayBatchOf,
  relayMicrosOf,
  targetsTable,
  transportLabel,
  withTransport,
} from '../suite-kit';

export async function concurrentSuite(values: Values, c: Common): Promise<BenchOutput> {
  const ns = list(values, 'n', c.quick ? [3] : [5, 20, 50]);
  const ks = list(values, 'k', c.quick ? [2] : [2, 5, 10]);
  const trials = Math.max(1, Math.floor(num(values, 'trials', c.quick ? 3 : 5)));
  const machine = describeMachine();
  let gcMsLeftOut: number | null = null;
  const records = await withTransport(
    values,
    c,
    Math.max(...ns) + Math.max(...ks) + 5,
    async (transport) => {
      const out = await runConcurrent(transport, {
        ns,
        ks,
        trials,
        timeoutMs: c.timeoutMs,
        onCell: (r) =>
          c.progress(`concurrent n=${r.n} k=${r.k}: ${fmt(r.seconds, 3)} s, ratio ${fmt(r.ratio)}`),
      });
      if (transport instanceof ParallelTransport) gcMsLeftOut = Math.round(transport.gcMs);
      return out;
    },
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
                ? ` (a core per client, relay latency ${latencyOf(values)} ms${
                    relayBatchOf(values) === undefined ? '' : ', relay batching writes'
                  })`
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
        trials,
        transport: c.transportKind,
        verifyThreads: c.verifyThreads,
        latencyMs: latencyOf(values),
        relayMicrosPerDelivery:
          c.transportKind === 'parallel' ? (relayMicrosOf(values) ?? 8) : null,
        relayBatchMs: c.transportKind === 'parallel' ? (relayBatchOf(values) ?? null) : null,
        /** Parallel transport: garbage collection of the shared heap left out of the steps. */
        gcMsLeftOut,
      },
      results: records,
      summary: { ...summary, targets },
    },
    markdown: [
      `## concurrent: k joiners at once into a room of n (${transportLabel(values, c)})`,
      concurrentTable(records),
      ...(gcMsLeftOut === null
        ? []
        : [
            `Garbage collection of the shared heap left out of the clients' steps: ${gcMsLeftOut} ms in the whole run (room builds included).`,
          ]),
      targetsTable(targets),
    ].join('\n\n'),
  };
}
