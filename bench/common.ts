// Shared by every suite: the machine description, percentiles, Markdown tables and the JSON
// report `{ suite, machine, params, results, summary }` that `--json FILE` writes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os';
import { dirname, resolve } from 'node:path';
import { backend } from '../src-main/protocol/sodium-backend';

export const ROOT = resolve(import.meta.dirname, '..');

export interface Machine {
  os: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  crypto: string;
  /** 1, 5 and 15 minute load averages when the suite started: other jobs share this machine. */
  loadAverage: number[];
  commit: string;
  /** Uncommitted changes to the code under test (src-main, src-shared) when the suite ran. */
  dirty: boolean | null;
  date: string;
}

export function describeMachine(): Machine {
  let commit = 'unknown';
  let dirty: boolean | null = null;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    commit = git('rev-parse', '--short', 'HEAD').trim();
    dirty = git('status', '--porcelain', '--', 'src-main', 'src-shared').trim() !== '';
  } catch {
    // not a git checkout
  }
  let crypto = 'not loaded';
  try {
    crypto = backend().name;
  } catch {
    // cryptoReady() not awaited (the relay suite needs no crypto)
  }
  const gib = (n: number) => Math.round((n / 2 ** 30) * 10) / 10;
  return {
    os: `${osType()} ${release()}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    node: process.version,
    crypto,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
    dirty,
    date: new Date().toISOString(),
  };
}

export interface Report<P = unknown, R = unknown, S = unknown> {
  suite: string;
  machine: Machine;
  params: P;
  results: R;
  summary: S;
}

export function writeJson(file: string, report: Report): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? 0;
}

export function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A Markdown table; numbers are printed as given, so format them first. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmt = (n: number, digits = 2): string => n.toFixed(digits);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
