// Everything up to the step that needs the Electron download: the electron-builder configuration
// loads and passes electron-builder's own schema, declares the targets, signing, notarization and
// fuses the issue asks for; the icons and entitlements exist; `electron-vite build` output has the
// main, preload and renderer entries wired to each other; native modules are N-API builds.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../e2e/helpers/build';

const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

interface BuilderConfig {
  appId: string;
  productName: string;
  files: (string | { filter: string[] })[];
  npmRebuild: boolean;
  asarUnpack: string[];
  electronFuses: Record<string, boolean>;
  mac: {
    target: { target: string }[];
    icon: string;
    hardenedRuntime: boolean;
    notarize: boolean;
    entitlements: string;
    entitlementsInherit: string;
  };
  win: { target: { target: string }[]; icon: string };
  linux: { target: string[]; icon: string };
}

const { getConfig, validateConfiguration } = require(
  join(ROOT, 'node_modules/app-builder-lib/out/util/config/config.js'),
) as {
  getConfig(dir: string, path: string | null, extra: unknown): Promise<BuilderConfig>;
  validateConfiguration(
    config: unknown,
    logger: { isEnabled: boolean; add(): void },
  ): Promise<void>;
};
const quietLogger = { isEnabled: false, add() {} };

/** Width and height from a PNG's IHDR chunk (and a check that it is a PNG at all). */
function pngSize(file: string): { width: number; height: number } {
  const bytes = readFileSync(file);
  expect(bytes.subarray(0, 8).toString('hex'), file).toBe('89504e470d0a1a0a');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

let config: BuilderConfig;

beforeAll(async () => {
  config = await getConfig(ROOT, null, null);
});

describe('electron-builder configuration', () => {
  it("passes electron-builder's own schema, which does reject unknown keys", async () => {
    await expect(validateConfiguration(config, quietLogger)).resolves.toBeUndefined();
    await expect(
      validateConfiguration({ ...config, notAnOption: true }, quietLogger),
    ).rejects.toThrow(/notAnOption/);
  });

  it('builds AppImage and deb, a notarized hardened dmg, and an NSIS installer', () => {
    expect(config.appId).toBe('org.conclave.desktop');
    expect(config.productName).toBe('Conclave');
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target.map((t) => t.target)).toEqual(['dmg']);
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.notarize).toBe(true);
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis']);
  });

  it('burns the fuses that disable running as Node and the inspector', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('packages only the build output, unpacks native modules and never rebuilds them', () => {
    // getConfig normalises file lists into { filter } sets.
    const patterns = config.files.flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
    expect(patterns).toContain('out/**');
    expect(patterns).toContain('!**/*.map');
    expect(config.npmRebuild).toBe(false);
    expect(config.asarUnpack).toContain('**/*.node');
  });

  it('has the icons and entitlements it names', () => {
    expect(pngSize(join(ROOT, config.mac.icon))).toEqual({ width: 1024, height: 1024 });
    expect(config.win.icon).toBe(config.mac.icon);
    const linuxIcons = readdirSync(join(ROOT, config.linux.icon));
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      expect(linuxIcons).toContain(`${size}x${size}.png`);
      expect(pngSize(join(ROOT, config.linux.icon, `${size}x${size}.png`))).toEqual({
        width: size,
        height: size,
      });
    }
    for (const file of [config.mac.entitlements, config.mac.entitlementsInherit]) {
      const plist = readFileSync(join(ROOT, file), 'utf8');
      expect(plist).toContain('<key>com.apple.security.cs.allow-jit</key>');
      expect(plist).not.toContain('disable-library-validation');
    }
  });

  it('has the package script that runs the build and then electron-builder', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      main: string;
    };
    expect(pkg.scripts['package']).toBe('electron-vite build && electron-builder');
    expect(pkg.main).toBe('./out/main/index.js');
  });
});

describe('electron-vite build output', () => {
  beforeAll(() => ensureRendererBuilt(), 200_000);

  it('has the main, preload and renderer entries, wired to each other', () => {
    const main = readFileSync(join(ROOT, 'out/main/index.js'), 'utf8');
    expect(main).toContain('conclave:call');
    expect(main).toContain('../preload/index.cjs');
    expect(main).toContain('../renderer');
    const preload = readFileSync(join(ROOT, 'out/preload/index.cjs'), 'utf8');
    // A sandboxed preload must be CommonJS and may only require electron.
    expect(preload).toMatch(/require\("electron"\)/);
    expect(preload).not.toMatch(/^\s*import\s/m);
    expect([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);
    expect(preload).toContain('exposeInMainWorld("conclave"');
  });

  it('has a renderer whose page loads only its own files and no inline code', () => {
    const html = readFileSync(join(ROOT, 'out/renderer/index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
    expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
    for (const ref of refs) expect(existsSync(join(ROOT, 'out/renderer', ref)), ref).toBe(true);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).toContain("script-src 'self'");
  });
});

describe('native modules', () => {
  it('are N-API builds for every desktop platform, so Electron needs no rebuild', () => {
    const checks: [string, string[]][] = [
      [
        'better-sqlite3/prebuilds',
        ['linux-x64.node', 'darwin-arm64.node', 'darwin-x64.node', 'win32-x64.node'],
      ],
      ['sodium-native/prebuilds', ['linux-x64', 'darwin-arm64', 'darwin-x64', 'win32-x64']],
    ];
    for (const [dir, platforms] of checks) {
      const base = join(ROOT, 'node_modules', dir);
      for (const platform of platforms) {
        const path = join(base, platform);
        const files = platform.endsWith('.node')
          ? [path]
          : readdirSync(path)
              .filter((f) => f.endsWith('.node'))
              .map((f) => join(path, f));
        expect(files.length, path).toBeGreaterThan(0);
        for (const file of files) {
          // The N-API module entry point; a V8-ABI build would export node_register_module_v*.
          expect(readFileSync(file).includes('napi_register_module_v1'), file).toBe(true);
        }
      }
    }
  });
});
