// The E2E tests serve the built renderer; build it when it is missing or older than its sources.
// Test files run in parallel, so the build is guarded by a lock directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const OUTPUT = join(ROOT, 'out', 'renderer', 'index.html');
const SOURCES = ['src-renderer', 'src-shared', 'svelte.config.js', 'electron.vite.config.ts'];

function newest(path: string): number {
  const full = join(ROOT, path);
  if (!existsSync(full)) return 0;
  const st = statSync(full);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(full).reduce(
    (max, entry) => Math.max(max, newest(join(path, entry))),
    st.mtimeMs,
  );
}

function isFresh(): boolean {
  if (!existsSync(OUTPUT)) return false;
  const built = statSync(OUTPUT).mtimeMs;
  return SOURCES.every((s) => newest(s) <= built);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function ensureRendererBuilt(): void {
  if (isFresh()) return;
  const lock = join(ROOT, 'out', '.e2e-build-lock');
  mkdirSync(join(ROOT, 'out'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than five minutes is left over.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 300_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for the renderer build');
      sleep(250);
    }
  }
  try {
    if (isFresh()) return;
    const bin = join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
    const result = spawnSync(process.execPath, [bin, 'build'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    if (result.status !== 0) {
      throw new Error(`electron-vite build failed:\n${result.stdout}\n${result.stderr}`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
