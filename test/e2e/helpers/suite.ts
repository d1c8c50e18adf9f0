// The setup most browser suites share: one real relay, one browser host per nick (separate
// processes and profiles under one temporary folder), one Chromium and one page per host;
// all of it started in beforeAll and stopped in afterAll.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startRelay, type RunningRelay } from '../../../src-main/relay/index';
import { launchChromium, openPage } from './browser';
import { ensureRendererBuilt } from './build';
import { HostView, spawnHost, type HostProcess } from './hosts';

export interface HostsSuite {
  /** The suite's temporary folder (each host's profile is `dir/<nick>`). */
  readonly dir: string;
  readonly relay: RunningRelay;
  readonly browser: Browser;
  /** In the order of the nicks. */
  readonly hosts: HostProcess[];
  readonly views: HostView[];
  readonly pages: Page[];
  page(i: number): Page;
  view(i: number): HostView;
}

export function hostsSuite(options: {
  nicks: readonly string[];
  /** The temporary folder's name prefix, e.g. 'conclave-e2e-files-'. */
  tmpPrefix: string;
  /** The hosts' founding policy, as spawnHost takes it (default: spawnHost's, open). */
  admission?: 'open' | 'knock' | 'invite' | null;
}): HostsSuite {
  let dir: string | undefined;
  let relay: RunningRelay | undefined;
  let browser: Browser | undefined;
  const hosts: HostProcess[] = [];
  const views: HostView[] = [];
  const pages: Page[] = [];
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`the suite's ${what} is not started`);
    return value;
  };

  beforeAll(async () => {
    ensureRendererBuilt();
    const root = mkdtempSync(join(tmpdir(), options.tmpPrefix));
    dir = root;
    const running = await startRelay({ host: '127.0.0.1', port: 0 });
    relay = running;
    hosts.push(
      ...(await Promise.all(
        options.nicks.map((n) =>
          options.admission === undefined
            ? spawnHost(n, join(root, n), running.url)
            : spawnHost(n, join(root, n), running.url, 30_000, options.admission),
        ),
      )),
    );
    views.push(...hosts.map((h) => new HostView(h)));
    const chromium = await launchChromium();
    browser = chromium;
    for (const h of hosts) pages.push(await openPage(chromium, h.url));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    for (const v of views) v.close();
    await Promise.all(hosts.map((h) => h.stop()));
    await relay?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  return {
    get dir() {
      return started('folder', dir);
    },
    get relay() {
      return started('relay', relay);
    },
    get browser() {
      return started('browser', browser);
    },
    hosts,
    views,
    pages,
    page: (i) => pages[i] as Page,
    view: (i) => views[i] as HostView,
  };
}
