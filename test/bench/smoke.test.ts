// Keeps `npm run bench` working: every suite runs once with tiny parameters and its JSON report
// has the documented shape with positive numbers. Benchmarks are not tests: nothing here
// asserts a timing.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench, UsageError } from '../../bench/index';

const dir = mkdtempSync(join(tmpdir(), 'conclave-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;

async function run(args: string[]): Promise<{ report: Json; markdown: string; file: Json }> {
  const file = join(dir, `${args[0]}-${Math.random().toString(36).slice(2)}.json`);
  const { report, markdown } = await runBench([...args, '--quiet', '--json', file]);
  const written = JSON.parse(readFileSync(file, 'utf8')) as Json;
  expect(Object.keys(written).sort()).toEqual(['machine', 'params', 'results', 'suite', 'summary']);
  expect(written['suite']).toBe(args[0]);
  const machine = written['machine'] as Json;
  expect(machine['cores']).toBeGreaterThan(0);
  expect(typeof machine['node']).toBe('string');
  expect(markdown).toMatch(/^## /);
  expect(markdown).toContain('|---|');
  return { report: report as unknown as Json, markdown, file: written };
}

function positive(obj: Json, keys: string[]): void {
  for (const key of keys) {
    expect(obj[key], key).toBeTypeOf('number');
    expect(obj[key] as number, key).toBeGreaterThan(0);
  }
}

describe('npm run bench (smoke)', () => {
  it('join --max 4 --compare mls --plot', async () => {
    const plots = join(dir, 'plots');
    const { file } = await run([
      'join',
      '--max',
      '4',
      '--compare',
      'mls',
      '--relay-in-process',
      '--plot',
      '--plot-dir',
      plots,
    ]);
    const summary = file['summary'] as Json;
    positive(summary, [
      'totalSeconds',
      'lastJoinSeconds',
      'cpuPerMemberMs',
      'mlsTotalSeconds',
      'mlsLastAddSeconds',
      'mlsOverConclaveTotal',
      'lastMessages',
      'lastBytes',
    ]);
    expect(summary['members']).toBe(4);
    const results = file['results'] as { conclave: Json[]; mls: Json[] };
    expect(results.conclave.map((r) => r['n'])).toEqual([1, 2, 3, 4]);
    expect(results.mls.map((r) => r['n'])).toEqual([1, 2, 3, 4]);
    for (const r of results.conclave.slice(1)) {
      positive(r, ['seconds', 'cpuMs', 'cpuPerMemberMs', 'messages', 'bytes', 'verifyPerMember']);
    }
    for (const chart of ['join-time.svg', 'join-total.svg', 'join-cpu.svg']) {
      const svg = readFileSync(join(plots, chart), 'utf8');
      expect(svg).toMatch(/^<svg /);
      expect(svg).toContain('<polyline');
    }
  });

  it('join over the in-memory transport', async () => {
    const { file } = await run(['join', '--max', '3', '--transport', 'local']);
    positive(file['summary'] as Json, ['totalSeconds', 'lastJoinSeconds', 'cpuPerMemberMs']);
  });

  it('concurrent n=3 k=2', async () => {
    const { file } = await run(['concurrent', '--n', '3', '--k', '2', '--relay-in-process']);
    const [cell] = file['results'] as Json[];
    expect(cell?.['allAdmitted']).toBe(true);
    positive(cell as Json, ['seconds', 'singleJoinSeconds', 'ratio', 'sessionRounds', 'messages']);
    positive(cell as Json, ['bytes']);
    expect((file['summary'] as Json)['allAdmitted']).toBe(true);
  });

  it('chat n=3 m=20', async () => {
    const { file } = await run([
      'chat',
      '--n',
      '3',
      '--m',
      '20',
      '--rate',
      '100',
      '--rate-seconds',
      '0.2',
      '--relay-in-process',
    ]);
    positive(file['summary'] as Json, ['verifyDecryptPerSecond', 'p50AtRateMs', 'p99AtRateMs']);
    const phases = (file['results'] as { phases: Json[] }).phases;
    expect(phases.map((p) => p['phase'])).toEqual(['burst', 'rate-all', 'rate-probes']);
    for (const p of phases) {
      expect(p['complete']).toBe(true);
      positive(p, ['messagesPerSecond', 'verifyDecryptPerSecond', 'relayBytes']);
    }
  });

  it('relay for about 2 s (relay in its own process)', async () => {
    const { file } = await run(['relay', '--connections', '6', '--rooms', '2', '--seconds', '0.5']);
    const summary = file['summary'] as Json;
    positive(summary, ['deliveriesPerSecond', 'p50Ms', 'p99Ms']);
    expect(file['results'] as Json[]).toHaveLength(2);
  });

  it('mls --max 4', async () => {
    const { file } = await run(['mls', '--max', '4']);
    positive(file['summary'] as Json, [
      'totalSeconds',
      'lastAddSeconds',
      'lastPerExistingMemberMs',
    ]);
    expect((file['summary'] as Json)['reached']).toBe(4);
  });

  it('refuses an unknown suite', async () => {
    await expect(runBench(['nope'])).rejects.toThrow(UsageError);
  });

  it('is wired to npm run bench', async () => {
    const root = resolve(import.meta.dirname, '../..');
    const file = join(dir, 'cli.json');
    const { stdout } = await promisify(execFile)(
      join(root, 'node_modules/.bin/tsx'),
      ['bench/index.ts', 'mls', '--quick', '--json', file],
      { cwd: root },
    );
    expect(stdout).toContain('## mls');
    expect(existsSync(file)).toBe(true);
  });
});
