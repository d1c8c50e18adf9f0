// `bench chat`: a room of n exchanging messages: throughput per receiver and latency at a rate.
import { describeMachine, fmt } from '../common';
import { chatTable, runChat, summarizeChat } from '../chat';
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

export async function chatSuite(values: Values, c: Common): Promise<BenchOutput> {
  const params = {
    n: Math.floor(num(values, 'n', c.quick ? 3 : 20)),
    m: Math.floor(num(values, 'm', c.quick ? 20 : 2000)),
    rate: num(values, 'rate', c.quick ? 100 : 500),
    rateSeconds: num(values, 'rate-seconds', c.quick ? 0.3 : 4),
    window: Math.floor(num(values, 'window', 32)),
    probes: Math.floor(num(values, 'probes', 4)),
    textBytes: Math.floor(num(values, 'text-bytes', 100)),
  };
  if (params.n < 2) throw new UsageError('--n must be at least 2');
  const machine = describeMachine();
  const result = await withTransport(values, c, params.n + 5, (transport) =>
    runChat(transport, { ...params, timeoutMs: c.timeoutMs }),
  );
  const summary = summarizeChat(params.n, params.rate, result.phases);
  const applies = params.n === 20;
  const targets: Target[] = judged(
    [
      {
        measure: 'verified and decrypted per second per receiver, room of 20',
        target: '>= 3,000/s',
        value: `${summary.verifyDecryptPerSecond.toLocaleString('en-US')}/s (n = ${params.n})`,
        met: applies ? summary.verifyDecryptPerSecond >= 3000 : null,
      },
      {
        measure: 'p99 latency at 500 msg/s, room of 20',
        target: '< 50 ms',
        value: `${fmt(summary.p99AtRateMs)} ms at ${params.rate}/s (n = ${params.n})`,
        met: applies && params.rate >= 500 ? summary.p99AtRateMs < 50 : null,
      },
    ],
    c.quick,
  );
  return {
    report: {
      suite: 'chat',
      machine: finish(machine),
      params: { ...params, transport: c.transportKind, verifyThreads: c.verifyThreads },
      results: { buildSeconds: result.build, phases: result.phases },
      summary: { ...summary, targets },
    },
    markdown: [
      `## chat: a room of ${params.n} (${c.transportKind} transport, ${threadsLabel(c.verifyThreads)})`,
      chatTable(result.phases),
      targetsTable(targets),
    ].join('\n\n'),
  };
}
