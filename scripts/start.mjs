// `npm start`: check Node, find the Electron binary, build, launch. The Electron binary downloads
// on first use, which needs internet access; where it cannot be had we say so in one line and
// point at the browser host instead of printing the downloader's stack trace.
import './check-node.cjs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const NO_ELECTRON =
  'Conclave cannot start: the Electron binary is not installed and could not be downloaded ' +
  '(no internet access?); run `npm run web` to use Conclave in your browser instead.';

function installedBinary(dir) {
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

function electronBinary() {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return require('electron');
  let dir;
  try {
    dir = dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  const found = installedBinary(dir);
  if (found || process.env.CONCLAVE_NO_ELECTRON_DOWNLOAD === '1') return found;
  // Electron's own downloader, quietly and bounded: its failure is reported in one line below.
  spawnSync(process.execPath, [join(dir, 'install.js')], { stdio: 'ignore', timeout: 180_000 });
  return installedBinary(dir);
}

const binary = electronBinary();
if (!binary) {
  console.error(NO_ELECTRON);
  process.exit(1);
}
const bin = join(dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
const build = spawnSync(process.execPath, [bin, 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const child = spawn(binary, ['.'], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
