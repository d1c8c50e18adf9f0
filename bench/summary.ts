// `tsx bench/summary.ts [DIR] [--plots]`: one Markdown table of every target, from the JSON
// reports the suites wrote into DIR (default docs/benchmarks). The README's Benchmarks section
// is this table, so the numbers there are never retyped by hand. `--plots` redraws the join
// charts from join.json.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Machine, Report } from './common';
import { ROOT } from './common';
import { writeJoinPlots } from './join-plots';
import type { Target } from './suite-kit';
import type { JoinRecord } from './join';
import type { MlsStep } from './mls';

interface Summary {
  targets?: Target[];
}

export function targetsOf(dir: string): { suite: string; date: string; target: Target }[] {
  const out: { suite: string; date: string; target: Target }[] = [];
  // concurrent four ways: all clients in one process, and a core per client (parallel
  // transport) with the relay on loopback and 5 ms away, and on loopback with its write batcher.
  const files: [string, string][] = [
    ['join', 'join'],
    ['concurrent', 'concurrent'],
    ['concurrent', 'concurrent-parallel'],
    ['concurrent', 'concurrent-parallel-5ms'],
    ['concurrent', 'concurrent-parallel-batched'],
    ['chat', 'chat'],
    ['relay', 'relay'],
  ];
  for (const [suite, name] of files) {
    const file = join(dir, `${name}.json`);
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, 'utf8')) as Report<unknown, unknown, Summary>;
    for (const target of report.summary.targets ?? []) {
      out.push({ suite, date: report.machine.date.slice(0, 10), target });
    }
  }
  return out;
}

export function summaryMarkdown(dir: string): string {
  const rows = targetsOf(dir).map(
    ({ suite, target }) =>
      `| ${suite} | ${target.measure} | ${target.target} | ${target.value} | ${
        target.met === null ? 'n/a' : target.met ? 'met' : '**missed**'
      } |`,
  );
  return ['| suite | measure | target | measured | |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** Redraws the join charts from a saved report (`--plots`), without rerunning anything. */
export function replot(dir: string): void {
  const report = JSON.parse(readFileSync(join(dir, 'join.json'), 'utf8')) as Report<
    unknown,
    { conclave: JoinRecord[]; mls: MlsStep[] | null }
  >;
  writeJoinPlots(dir, report.results.conclave, report.results.mls, report.machine as Machine);
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  const args = process.argv.slice(2);
  const dir = resolve(ROOT, args.find((a) => !a.startsWith('--')) ?? 'docs/benchmarks');
  if (args.includes('--plots')) replot(dir);
  console.log(summaryMarkdown(dir));
}
