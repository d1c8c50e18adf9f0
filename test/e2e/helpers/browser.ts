// Debian's Chromium driven by playwright-core, with the flags ENVIRONMENT.md lists, and
// screenshots saved as test artifacts (and, on request, as the README's screenshots).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../../..');

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CONCLAVE_CHROMIUM'] ?? '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function openPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    colorScheme: 'light',
  });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(url);
  return page;
}

/** Errors the page logged (a CSP violation shows up here as a console error). */
export function pageProblems(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/**
 * Saves a screenshot under test-results/e2e/<suite>/; with CONCLAVE_UPDATE_SCREENSHOTS=1 the
 * ones given a `doc` name are also copied to docs/screenshots/.
 */
export async function shot(page: Page, suite: string, name: string, doc?: string): Promise<void> {
  const dir = join(ROOT, 'test-results', 'e2e', suite);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  if (doc && process.env['CONCLAVE_UPDATE_SCREENSHOTS'] === '1') {
    mkdirSync(join(ROOT, 'docs', 'screenshots'), { recursive: true });
    copyFileSync(file, join(ROOT, 'docs', 'screenshots', `${doc}.png`));
  }
}
