// `npx tsx scripts/bench-compare.ts [--base REV] [--head REV] [--rounds R] -- <suite> [opts]`:
// the same `npm run bench` command on two versions of the code, in one command. REV (default
// HEAD~1) is checked out into a temporary git worktree (node_modules hard-linked from this one,
// so nothing is installed), and so is --head if given (default: this working tree); then the
// suite runs alternately on base and head, A B A B ..., R rounds each (default 2), so that a
// machine's drifting load falls on both. It prints, for every number in the suite's JSON
// summary, the median over the rounds of each version (each round's number after it) and the
// ratio head/base (above 1: head has the larger number, which for a time is slower and for a
// rate faster). The worktrees are removed at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');

const { values, positionals } = parseArgs({
  options: {
    base: { type: 'string', default: 'HEAD~1' },
    head: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    help: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
if (values.help || positionals.length === 0 || !Number.isInteger(rounds) || rounds < 1) {
  console.error(
    'usage: tsx scripts/bench-compare.ts [--base REV] [--head REV] [--rounds R] -- <suite> [opts]',
  );
  process.exit(values.help ? 0 : 2);
}

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/**
 * The Node flags of `npm run bench` (package.json): a 64 MB young generation, so that the many
 * clients one bench process hosts are not interrupted by a scavenge every few tens of ms.
 */
const BENCH_NODE_FLAGS = '--max-semi-space-size=64';

/** One run of the suite in `tree`; the numbers of its JSON summary. */
function runOnce(tree: string, label: string, out: string): Map<string, number> {
  const json = join(out, `${label}.json`);
  const started = performance.now();
  // Both versions get the young generation `npm run bench` gives (package.json): whatever a
  // version's own script said, the two sides of a ratio run alike.
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} ${BENCH_NODE_FLAGS}`.trim();
  const run = spawnSync(
    join(tree, 'node_modules/.bin/tsx'),
    ['bench/index.ts', ...positionals, '--json', json],
    {
      cwd: tree,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
    },
  );
  if (run.status !== 0) throw new Error(`${label}: the bench exited with ${run.status}`);
  console.error(`${label}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const summary = (JSON.parse(readFileSync(json, 'utf8')) as { summary?: object }).summary ?? {};
  const numbers = new Map<string, number>();
  for (const [key, value] of Object.entries(summary)) {
    if (typeof value === 'number') numbers.set(key, value);
  }
  return numbers;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** One column: the median, then each round's number. */
function cell(runs: Map<string, number>[], key: string): { median: number; text: string } {
  const xs = runs.map((m) => m.get(key) ?? NaN);
  const m = median(xs);
  return { median: m, text: `${m} (${xs.join(' / ')})` };
}

function report(
  base: Map<string, number>[],
  mine: Map<string, number>[],
  rev: string,
  headRev: string,
): string {
  const lines = [
    `| ${positionals.join(' ')}: median (rounds) | base ${rev} | ${headRev} | ratio |`,
    '|---|---|---|---|',
  ];
  for (const key of base[0]?.keys() ?? []) {
    const a = cell(base, key);
    const b = cell(mine, key);
    const ratio = a.median === 0 ? 'n/a' : (b.median / a.median).toFixed(3);
    lines.push(`| ${key} | ${a.text} | ${b.text} | ${ratio} |`);
  }
  return lines.join('\n');
}

/** A temporary worktree of `rev` in `dir`, sharing this tree's node_modules (hard links). */
function checkout(rev: string, dir: string): string {
  git('worktree', 'add', '--detach', dir, rev);
  execFileSync('cp', ['-al', join(ROOT, 'node_modules'), join(dir, 'node_modules')]);
  return dir;
}

const rev = git('rev-parse', '--short', values.base);
const headRev = values.head === undefined ? 'this tree' : git('rev-parse', '--short', values.head);
const out = mkdtempSync(join(tmpdir(), 'bench-compare-'));
const trees: string[] = [];
try {
  const baseTree = checkout(rev, join(out, 'base'));
  trees.push(baseTree);
  const headTree = values.head === undefined ? ROOT : checkout(headRev, join(out, 'head'));
  if (headTree !== ROOT) trees.push(headTree);
  const base: Map<string, number>[] = [];
  const mine: Map<string, number>[] = [];
  for (let r = 1; r <= rounds; r++) {
    base.push(runOnce(baseTree, `base-${r}`, out));
    mine.push(runOnce(headTree, `head-${r}`, out));
  }
  console.log(report(base, mine, rev, headRev));
} finally {
  for (const tree of trees) git('worktree', 'remove', '--force', tree);
  rmSync(out, { recursive: true, force: true });
}
