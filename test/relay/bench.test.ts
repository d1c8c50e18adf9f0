// Keeps the load script working: a tiny bounded run against an embedded relay.
import { describe, expect, it } from 'vitest';
import { runRelayBench } from '../../bench/relay';
import { toMarkdown } from '../../bench/relay-report';

describe('bench/relay.ts', () => {
  it('measures deliveries and latency and renders a Markdown table', async () => {
    const result = await runRelayBench({ connections: 6, rooms: 2, seconds: 0.5, inProcess: true });
    expect(result.deliveries).toBeGreaterThan(0);
    // Every message reaches all three members of its room.
    expect(result.deliveries).toBeGreaterThanOrEqual(result.messages * 3 * 0.5);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(result.rejected).toBe(0);
    const table = toMarkdown([result]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toContain('| saturate | 6 | 2 |');
  });
});
