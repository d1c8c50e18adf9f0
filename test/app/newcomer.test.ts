// The newcomer path: `npm install` / `npm start` / `npm run web` on an old Node stop at once with
// one line saying what to do, and `npm start` without the Electron binary says so in one line and
// points at `npm run web` (no downloader stack trace). Runs the real scripts; the old Node is the
// system's /usr/bin/node when it is older than 22.12 (Debian 12 ships Node 20).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SYSTEM_NODE = '/usr/bin/node';

function systemNodeIsOld(): boolean {
  if (!existsSync(SYSTEM_NODE)) return false;
  const v = spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const [major = 0, minor = 0] = v.stdout.trim().split('.').map(Number);
  return major < 22 || (major === 22 && minor < 12);
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

describe('newcomer path', () => {
  it('runs the Node check before install, start and web', () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['preinstall']).toBe('node scripts/check-node.cjs');
    expect(pkg.scripts['preweb']).toBe('node scripts/check-node.cjs');
    expect(readFileSync(resolve(ROOT, 'scripts/start.mjs'), 'utf8')).toMatch(
      /^import '\.\/check-node\.cjs';$/m,
    );
  });

  it('passes on this Node', () => {
    const r = spawnSync(process.execPath, ['scripts/check-node.cjs'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it.runIf(systemNodeIsOld())('stops an old Node at once with one line', () => {
    for (const script of ['scripts/check-node.cjs', 'scripts/start.mjs']) {
      const r = spawnSync(SYSTEM_NODE, [script], { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^Conclave needs Node 22\.12 or newer, this is Node 2\d\./);
      expect(r.stderr).toMatch(/install Node 22/);
    }
  });

  it('says in one line that Electron is missing and offers npm run web', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CONCLAVE_NO_ELECTRON_DOWNLOAD: '1' };
    delete env['ELECTRON_OVERRIDE_DIST_PATH'];
    const electronDir = resolve(ROOT, 'node_modules/electron');
    const installed =
      existsSync(resolve(electronDir, 'path.txt')) &&
      existsSync(
        resolve(electronDir, 'dist', readFileSync(resolve(electronDir, 'path.txt'), 'utf8')),
      );
    if (installed) return; // a machine with the binary: nothing to report
    const r = spawnSync(process.execPath, ['scripts/start.mjs'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        /^Conclave cannot start: the Electron binary is not installed.*`npm run web`/,
      ),
    ]);
    expect(r.stderr).not.toMatch(/fetch failed|at .*\(node:/);
  });
});
