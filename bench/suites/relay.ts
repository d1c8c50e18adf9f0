// `bench relay`: deliveries per second through one relay node, and latency at half the target.
import { describeMachine, fmt, round } from '../common';
import type { RelayBenchClient, RelayBenchResult } from '../relay';
import { parseClients as parseRelayClients, runRelaySeries } from '../relay';
import { toMarkdown as relayMarkdown } from '../relay-report';
import type { BenchOutput, Values } from '../suite-kit';
import { finish, judged, num, targetsTable, UsageError } from '../suite-kit';

/** The relay's throughput target (issue 3): deliveries per second from one node. */
const TARGET_DELIVERIES = 100_000;

export async function relaySuite(values: Values, quick: boolean): Promise<BenchOutput> {
  let clients: RelayBenchClient[];
  try {
    clients = parseRelayClients(typeof values.client === 'string' ? values.client : undefined);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const base = {
    connections: Math.floor(num(values, 'connections', quick ? 12 : 300)),
    rooms: Math.floor(num(values, 'rooms', 3)),
    seconds: Math.min(60, num(values, 'seconds', quick ? 0.5 : 5)),
    workers: Math.floor(num(values, 'workers', 0)),
    inProcess: values['in-process'] === true,
    rate: values.rate === undefined ? undefined : num(values, 'rate', 0),
  };
  const latencyAt = num(values, 'latency-at', quick ? 2_000 : TARGET_DELIVERIES / 2);
  const params = { ...base, clients, latencyAtDeliveries: latencyAt };
  const machine = describeMachine();
  const results = await runRelaySeries(base, { clients, latencyAtDeliveries: latencyAt });
  // The first generator listed is the headline; the others are there to compare with.
  const primary = clients[0] ?? 'raw';
  const mine = results.filter((r) => r.client === primary);
  const saturated = mine.find((r) => r.phase === 'saturate');
  const best = Math.max(...mine.map((r) => r.deliveriesPerSecond));
  const half = mine.find((r) => r.phase === 'half-saturation');
  const atTarget =
    mine.find((r) => r.phase === 'deliveries') ?? mine.find((r) => r.phase === 'rate');
  const latency = atTarget ?? half ?? mine[0];
  const memory = mine.find((r) => r.relayMemoryPerConnectionBytes !== undefined);
  const brief = (r: RelayBenchResult | undefined) =>
    r && {
      client: r.client,
      messagesPerSecond: round(r.messagesPerSecond, 1),
      deliveriesPerSecond: Math.round(r.deliveriesPerSecond),
      p50Ms: round(r.latencyMs.p50, 2),
      p99Ms: round(r.latencyMs.p99, 2),
      relayCpuMicrosPerDelivery:
        r.relayCpuMicrosPerDelivery === undefined ? null : round(r.relayCpuMicrosPerDelivery, 2),
      generatorCpuMicrosPerDelivery: round(r.clientCpuMicrosPerDelivery, 2),
    };
  const offered = latency?.offeredDeliveriesPerSecond;
  // Judged only at the target's own load, and only if the generator really offered it.
  const p99Applies = latency?.phase === 'deliveries' && offered === TARGET_DELIVERIES / 2;
  const p99Reached = !!latency && latency.deliveriesPerSecond >= 0.95 * (TARGET_DELIVERIES / 2);
  const summary = {
    client: primary,
    deliveriesPerSecond: Math.round(best),
    p50Ms: round(latency?.latencyMs.p50 ?? 0, 2),
    p99Ms: round(latency?.latencyMs.p99 ?? 0, 2),
    latencyAt:
      latency?.mode === 'rate'
        ? `${Math.round(latency.offeredRate ?? 0)} msg/s (${Math.round(offered ?? 0)} deliveries/s)`
        : 'saturation',
    saturation: brief(saturated),
    halfSaturation: brief(half),
    atDeliveries: brief(atTarget),
    memoryPerConnectionBytes: memory
      ? Math.round(memory.relayMemoryPerConnectionBytes as number)
      : null,
    relayCpuMicrosPerDelivery: saturated?.relayCpuMicrosPerDelivery ?? null,
    comparison: clients.slice(1).map((client) => ({
      client,
      saturation: brief(results.find((r) => r.client === client && r.phase === 'saturate')),
      halfSaturation: brief(
        results.find((r) => r.client === client && r.phase === 'half-saturation'),
      ),
      atDeliveries: brief(results.find((r) => r.client === client && r.phase === 'deliveries')),
    })),
    targets: judged(
      [
        {
          measure: 'deliveries per second from one node',
          target: '>= 100,000/s',
          value: `${Math.round(best).toLocaleString('en-US')}/s`,
          met: best >= TARGET_DELIVERIES,
        },
        {
          measure: 'p99 latency at 50,000 deliveries/s (half of 100k)',
          target: '< 20 ms',
          value: latency
            ? `${fmt(latency.latencyMs.p99)} ms at ${Math.round(latency.deliveriesPerSecond).toLocaleString('en-US')}/s`
            : 'not run',
          met: p99Applies ? p99Reached && (latency?.latencyMs.p99 ?? Infinity) < 20 : null,
        },
      ],
      quick,
    ),
  };
  return {
    report: { suite: 'relay', machine: finish(machine), params, results, summary },
    markdown: [
      `## relay: ${base.connections} connections over ${base.rooms} rooms`,
      relayMarkdown(results),
      targetsTable(summary.targets),
    ].join('\n\n'),
  };
}
