// The relay suite's Markdown table: one row per load step (see docs/benchmarks/README.md, relay).
import type { RelayBenchResult } from './relay-types';

function loadLabel(r: RelayBenchResult): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const msgs = `${fmt(r.offeredRate ?? 0)} msg/s`;
  switch (r.phase) {
    case 'saturate':
      return 'saturate';
    case 'half-saturation':
      return `half saturation: ${msgs}`;
    case 'deliveries':
      return `${msgs} = ${fmt(r.offeredDeliveriesPerSecond ?? 0)} deliveries/s`;
    case 'rate':
      return msgs;
  }
}

export function toMarkdown(results: readonly RelayBenchResult[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rows = results.map((r) => {
    const relayCpu = r.relayCpuMicrosPerDelivery;
    return [
      loadLabel(r),
      r.connections,
      r.rooms,
      r.client,
      fmt(r.messagesPerSecond),
      fmt(r.deliveriesPerSecond),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p90.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.latencyMs.max.toFixed(1),
      r.pacing
        ? `${r.pacing.lagP99Ms.toFixed(1)} / ${r.pacing.lagMaxMs.toFixed(1)} / ${r.pacing.maxBurst}`
        : '',
      r.rejected,
      relayCpu === undefined ? 'n/a' : relayCpu.toFixed(2),
      relayCpu ? fmt(1e6 / relayCpu) : 'n/a',
      r.clientCpuMicrosPerDelivery.toFixed(2),
      r.relayMemoryPerConnectionBytes === undefined
        ? 'n/a'
        : (r.relayMemoryPerConnectionBytes / 1024).toFixed(1),
    ].join(' | ');
  });
  const header = [
    'load',
    'connections',
    'rooms',
    'generator',
    'messages/s',
    'deliveries/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'pacer lag p99 / max ms / max burst',
    'rejected',
    'relay CPU µs/delivery',
    'deliveries per relay CPU-second',
    'generator CPU µs/delivery',
    'relay memory KiB/connection',
  ];
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}
