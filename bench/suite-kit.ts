// What every suite's command-line side shares: option parsing helpers, the targets table, the
// report's machine line, and one transport (a relay on 127.0.0.1 or the in-memory log) opened
// and closed around a run. The measuring itself is in harness.ts and the suites' own files.
import { loadavg } from 'node:os';
import type { Machine, Report } from './common';
import type { TransportKind } from './harness';
import { openTransport } from './harness';

export interface Target {
  measure: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface BenchOutput {
  report: Report;
  markdown: string;
}

export type Values = Record<string, string | boolean | undefined>;

export function num(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} needs a number`);
  return n;
}

export function list(values: Values, name: string, fallback: number[]): number[] {
  const raw = values[name];
  if (typeof raw !== 'string') return fallback;
  const out = raw.split(',').map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(`--${name} needs whole numbers`);
  }
  return out;
}

export class UsageError extends Error {}

export function targetsTable(targets: readonly Target[]): string {
  const rows = targets.map(
    (t) =>
      `| ${t.measure} | ${t.target} | ${t.value} | ${t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED'} |`,
  );
  return ['| target | wanted | measured | |', '|---|---|---|---|', ...rows].join('\n');
}

/** A --quick run is a smoke run: its numbers are not judged against the targets. */
export function judged(targets: Target[], quick: boolean): Target[] {
  return quick ? targets.map((t) => ({ ...t, met: null })) : targets;
}

export function finish(machine: Machine): Machine & { loadAverageAtEnd: number[] } {
  return { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) };
}

export const threadsLabel = (threads: number) =>
  threads === 0
    ? 'signatures verified inline'
    : `${threads} verify thread${threads > 1 ? 's' : ''}`;

export const log = (line: string) => process.stderr.write(`${line}\n`);

export interface Common {
  quick: boolean;
  timeoutMs: number;
  transportKind: TransportKind;
  progress: (line: string) => void;
  /** Verify pool threads in this process (0: every engine verifies inline). */
  verifyThreads: number;
}

/** `--latency-ms L`: every relay event reaches each client L ms after the relay sent it. */
/** How the clients ran, for a suite's heading. */
export function transportLabel(values: Values, c: Common): string {
  if (c.transportKind === 'parallel') {
    const batch = relayBatchOf(values);
    const relay =
      batch === undefined
        ? `relay ${relayMicrosOf(values) ?? 8} µs per recipient`
        : `relay write batching every ${batch} ms (${relayMicrosOf(values) ?? 8} µs a write of one frame)`;
    return `parallel transport: every client on a core of its own, relay latency ${latencyOf(values)} ms, ${relay}, verification inline`;
  }
  return `${c.transportKind} transport, ${threadsLabel(c.verifyThreads)}`;
}

/** An optional number option within [0, max]; `what` names its unit in the error. */
function rangedOption(values: Values, name: string, max: number, what: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) {
    throw new Error(`--${name} takes ${what} from 0 to ${max}`);
  }
  return n;
}

export function relayMicrosOf(values: Values): number | undefined {
  return rangedOption(values, 'relay-us', 1_000, 'microseconds');
}

/** `--relay-batch-ms B`: the parallel transport models the relay's write batcher (interval B). */
export function relayBatchOf(values: Values): number | undefined {
  return rangedOption(values, 'relay-batch-ms', 50, 'milliseconds');
}

export function latencyOf(values: Values): number {
  return rangedOption(values, 'latency-ms', 10_000, 'milliseconds') ?? 0;
}

export async function withTransport<T>(
  values: Values,
  c: Common,
  maxMembers: number,
  run: (t: Awaited<ReturnType<typeof openTransport>>) => Promise<T>,
): Promise<T> {
  const transport = await openTransport({
    kind: c.transportKind,
    relayInProcess: values['relay-in-process'] === true,
    maxMembersPerRoom: maxMembers,
    verifyThreads: c.verifyThreads,
    latencyMs: latencyOf(values),
    relayMicrosPerDelivery: relayMicrosOf(values),
    relayBatchMs: relayBatchOf(values),
  });
  try {
    return await run(transport);
  } finally {
    await transport.close();
  }
}
