// A small team's first day, through the browser host with three users (issue 14): alice creates
// a room and copies the invite, bob and carol join by pasting it; a token-protected relay joined
// from the UI (a wrong token shows a clear error first); a notification for a background room
// (observed through the page's Notifications API), its unread count rising and clearing; a
// message sent while the relay is down shows "failed", then "sent" after Retry; settings and the
// timeline's join lines survive a restart of the host; over-long text is refused in the
// composer; the layout fits 400 px.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { ensureRendererBuilt } from './helpers/build';
import { launchChromium, pageProblems, shot } from './helpers/browser';
import { HostView, spawnHost, type HostProcess } from './helpers/hosts';
import { startProxy, type RelayProxy } from './helpers/proxy';
import { button, eventually, memberStates, onboard, region, textbox } from './helpers/ui';

const SUITE = 'team';
const NICKS = ['alice', 'bob', 'carol'] as const;
const ROOM = 'team-room';
const TOKEN = 'e2e-team-token-7c1d';

let dir: string;
let relay: RunningRelay;
let teamRelay: RunningRelay;
let proxy: RelayProxy;
let browser: Browser;
const hosts: HostProcess[] = [];
const pages: Page[] = [];

// Records every notification the page raises, through the real Notifications API.
const RECORD_NOTIFICATIONS = `
  (() => {
    const Real = window.Notification;
    window.__notes = [];
    class Recording extends Real {
      constructor(title, options) {
        super(title, options);
        window.__notes.push({ title, body: options && options.body, tag: options && options.tag });
      }
    }
    window.Notification = Recording;
  })();
`;

async function open(url: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    colorScheme: 'light',
  });
  await context.grantPermissions(['notifications', 'clipboard-read', 'clipboard-write'], {
    origin: new URL(url).origin,
  });
  await context.addInitScript({ content: RECORD_NOTIFICATIONS });
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

const notes = (p: Page) =>
  p
    .locator('body')
    .evaluate(
      (b) => (b.ownerDocument.defaultView.__notes ?? []) as { title: string; body: string }[],
    );
const page = (i: number) => pages[i] as Page;
beforeAll(async () => {
  ensureRendererBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conclave-e2e-team-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 30_000 });
  teamRelay = await startRelay({ host: '127.0.0.1', port: 0, token: TOKEN });
  // Everyone reaches the open relay through a proxy the test can cut: "the relay is down".
  proxy = await startProxy(relay.url);
  hosts.push(...(await Promise.all(NICKS.map((n) => spawnHost(n, join(dir, n), proxy.url)))));
  browser = await launchChromium();
  for (const h of hosts) pages.push(await open(h.url));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(hosts.map((h) => h.stop()));
  await proxy?.close();
  await relay?.close();
  await teamRelay?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a team adopts Conclave', { timeout: 150_000 }, () => {
  it('says why the first-run button is disabled, then onboards everyone', async () => {
    const why = page(0).getByText('Enter a nickname to create your identity.');
    await why.waitFor();
    expect(await button(page(0), 'Create identity').isDisabled()).toBe(true);
    for (const [i, nick] of NICKS.entries()) await onboard(page(i), nick);
  });

  it('alice creates a room and copies the invite; bob and carol join by pasting it', async () => {
    const alice = page(0);
    await textbox(alice, 'Room').fill(ROOM);
    await button(alice, 'Join').click();
    await region(alice, 'Members').locator('li[data-nick="alice"][data-state="member"]').waitFor();

    await button(alice, 'Invite people').click();
    const dialog = alice.getByRole('dialog', { name: `Invite people to #${ROOM}` });
    await dialog.getByText('An invite holds no keys').waitFor();
    await dialog.getByText("The members see each joiner's fingerprint").waitFor();
    const field = dialog.getByRole('textbox', { name: 'Invite' });
    const text = await field.inputValue();
    expect(text).toMatch(/^Join #team-room on Conclave: conclave:\/\/join\?v=1&relay=/);
    await button(alice, 'Copy invite').click();
    await dialog.getByText('Invite copied.').waitFor();
    const copied = await alice
      .locator('body')
      .evaluate(
        (b) => b.ownerDocument.defaultView.navigator.clipboard.readText() as Promise<string>,
      );
    expect(copied).toBe(text);
    await shot(alice, SUITE, '01-invite', 'invite');
    await button(alice, 'Done').click();

    for (const i of [1, 2]) {
      const p = page(i);
      await p.getByRole('textbox', { name: 'Paste an invite' }).fill(copied);
      await button(p, 'Use invite').click();
      // A confirmation, never an automatic join.
      await p.getByText('You are about to ask to join').waitFor();
      expect(await textbox(p, 'Room').inputValue()).toBe(ROOM);
      expect(await textbox(p, 'Relay URL').inputValue()).toBe(proxy.url);
      if (i === 1) await shot(p, SUITE, '02-invite-confirm', 'invite-confirm');
      await button(p, 'Join').click();
    }
    for (const i of [0, 1, 2]) {
      await eventually(
        `${NICKS[i]} sees all three`,
        async () =>
          expect(await memberStates(page(i))).toEqual({
            alice: 'member',
            bob: 'member',
            carol: 'member',
          }),
        60_000,
      );
    }
  });

  it('refuses a hostile pasted invite with a clear error', async () => {
    const bob = page(1);
    await button(bob, 'Join a room').click();
    await bob
      .getByRole('textbox', { name: 'Paste an invite' })
      .fill('conclave://join?v=1&relay=javascript%3Aalert(1)&room=x');
    await button(bob, 'Use invite').click();
    await bob
      .getByRole('alert')
      .getByText(/Not a usable invite: the relay URL must start/)
      .waitFor();
    await button(bob, 'Cancel').click();
  });

  it('joins a token-protected relay from the UI; a wrong token shows a clear error', async () => {
    const carol = page(2);
    await button(carol, 'Join a room').click();
    await textbox(carol, 'Relay URL').fill(teamRelay.url);
    await textbox(carol, 'Room').fill('private');
    await carol.getByLabel('Access token', { exact: true }).fill('not-the-token');
    await button(carol, 'Join').click();
    const alert = carol
      .getByRole('alert')
      .filter({ hasText: 'The relay refused the access token' });
    await alert.waitFor();
    await alert.getByText(/it is wrong/).waitFor();
    await shot(carol, SUITE, '03-wrong-token');
    await carol.getByLabel('Access token', { exact: true }).fill(TOKEN);
    await button(carol, 'Save token and retry').click();
    await region(carol, 'Members').locator('li[data-nick="carol"][data-state="member"]').waitFor();
    expect(await carol.getByText('The relay refused the access token').count()).toBe(0);
  });

  it('raises a notification for a background room, counts unread and clears it', async () => {
    const alice = page(0);
    // Alice is in a second room and looks at it; team-room is in the background.
    await button(alice, 'Join a room').click();
    await textbox(alice, 'Room').fill('side');
    await button(alice, 'Join').click();
    await region(alice, 'Members').locator('li[data-nick="alice"][data-state="member"]').waitFor();

    await textbox(page(1), 'Message').fill('standup in 5');
    await textbox(page(1), 'Message').press('Enter');
    const badge = alice.locator('nav[aria-label="Rooms"] .badge');
    await eventually('alice has one unread in team-room', async () => {
      expect(await badge.getAttribute('aria-label')).toBe('1 unread');
      expect(await alice.title()).toBe('(1) Conclave');
    });
    // The privacy default: who and where, no text.
    await eventually('a notification without the text', async () =>
      expect(await notes(alice)).toEqual([
        { title: 'bob in #team-room', body: 'New message', tag: expect.any(String) },
      ]),
    );
    await page(2)
      .getByRole('button', { name: /#team-room/ })
      .click();
    await textbox(page(2), 'Message').fill('on my way');
    await textbox(page(2), 'Message').press('Enter');
    await eventually('two unread', async () => expect(await badge.innerText()).toBe('2'));
    await shot(alice, SUITE, '04-unread', 'notifications');

    await alice.getByRole('button', { name: /#team-room/ }).click();
    await region(alice, 'Chat').getByText('on my way').waitFor();
    await eventually('read', async () => {
      expect(await badge.count()).toBe(0);
      expect(await alice.title()).toBe('Conclave');
    });
    // The room in view of a focused window does not notify.
    const before = (await notes(alice)).length;
    await textbox(page(1), 'Message').fill('seen live');
    await textbox(page(1), 'Message').press('Enter');
    await region(alice, 'Chat').getByText('seen live').waitFor();
    expect((await notes(alice)).length).toBe(before);
  });

  it('shows "failed" for a message sent while the relay is down, then "sent" after Retry', async () => {
    const bob = page(1);
    await proxy.down();
    await eventually('bob sees the relay gone', async () =>
      expect(await bob.getByText('Reconnecting').count()).toBeGreaterThan(0),
    );
    await textbox(bob, 'Message').fill('sent while the relay is down');
    await textbox(bob, 'Message').press('Enter');
    const pending = region(bob, 'Chat').locator('li[data-state="failed"]');
    await pending.getByText('sent while the relay is down').waitFor();
    await pending.getByText(/Failed: not connected to the relay/).waitFor();
    await shot(bob, SUITE, '05-failed');

    await proxy.up();
    await eventually(
      'bob is back',
      async () =>
        expect(await bob.getByText('Connected', { exact: true }).count()).toBeGreaterThan(0),
      30_000,
    );
    await pending.getByRole('button', { name: 'Retry' }).click();
    const sent = region(bob, 'Chat')
      .locator('li.message[data-state="sent"]')
      .filter({ hasText: 'sent while the relay is down' });
    await sent.getByText('Sent', { exact: true }).waitFor();
    expect(await pending.count()).toBe(0);
    await region(page(0), 'Chat').getByText('sent while the relay is down').waitFor();
  });

  it('refuses over-long text in the composer and collapses long messages', async () => {
    const alice = page(0);
    await textbox(alice, 'Message').fill('x'.repeat(100 * 1024));
    await alice
      .getByRole('alert')
      .getByText(/This message is 100\.0 KB; a message can be at most 16 KB/)
      .waitFor();
    expect(await button(alice, 'Send').isDisabled()).toBe(true);
    const long = 'A long report. '.repeat(200);
    await textbox(alice, 'Message').fill(long);
    await textbox(alice, 'Message').press('Enter');
    const onBob = region(page(1), 'Chat').locator('li.message[data-from="alice"]').last();
    await onBob.getByRole('button', { name: /Show more/ }).waitFor();
    expect(await onBob.locator('.bubble.collapsed').count()).toBe(1);
    await onBob.getByRole('button', { name: /Show more/ }).click();
    expect(await onBob.locator('.bubble.collapsed').count()).toBe(0);
  });

  it('fits a 400 px window: collapsible room list and members panel, no overflow', async () => {
    const bob = page(1);
    await bob.setViewportSize({ width: 400, height: 800 });
    const width = () =>
      bob.locator('body').evaluate((b) => b.ownerDocument.documentElement.scrollWidth as number);
    expect(await width()).toBeLessThanOrEqual(400);
    await button(bob, 'Members').click();
    await region(bob, 'Members').locator('li[data-nick="carol"]').waitFor({ state: 'visible' });
    expect(await width()).toBeLessThanOrEqual(400);
    await shot(bob, SUITE, '06-narrow-members');
    await button(bob, 'Members').click();
    await bob.getByRole('button', { name: /Rooms/ }).first().click();
    await bob
      .locator('nav[aria-label="Rooms"]')
      .getByText('Settings')
      .waitFor({ state: 'visible' });
    expect(await width()).toBeLessThanOrEqual(400);
    await shot(bob, SUITE, '07-narrow-rooms', 'narrow');
    await bob
      .getByRole('button', { name: 'Close the room list' })
      .click({ position: { x: 380, y: 400 } });
    await bob.locator('nav[aria-label="Rooms"]').waitFor({ state: 'hidden' });
    await bob.setViewportSize({ width: 1280, height: 800 });
  });

  it('keeps settings and the join lines across a restart of the host', async () => {
    let alice = page(0);
    await button(alice, 'Settings').click();
    await alice.getByRole('radio', { name: 'Dark' }).check();
    await alice.getByRole('checkbox', { name: /Show message text in notifications/ }).check();
    await alice.getByLabel('Periodic rekey').selectOption('24');
    await alice.getByRole('status').getByText('Rekey interval saved.').waitFor();
    // The team relay, with its token, in the relay list (joined by carol, not alice: add it).
    await alice.getByRole('textbox', { name: 'New relay URL' }).fill(teamRelay.url);
    await alice.getByLabel('Its access token').fill(TOKEN);
    await button(alice, 'Add relay').click();
    const teamRow = alice.locator(`li[data-relay="${teamRelay.url}"]`);
    await teamRow.getByText('token saved').waitFor();
    await teamRow.getByRole('button', { name: 'Make default' }).click();
    await teamRow.getByText('default', { exact: true }).waitFor();
    expect(await alice.locator('html').getAttribute('data-theme')).toBe('dark');
    await alice.locator('main.settings').evaluate((el) => (el.scrollTop = 0));
    await shot(alice, SUITE, '08-settings', 'settings');

    await hosts[0]!.stop();
    await alice.context().close();
    hosts[0] = await spawnHost('alice-again', join(dir, 'alice'), proxy.url);
    alice = await open(hosts[0].url);
    pages[0] = alice;
    await alice.getByRole('button', { name: /#team-room/ }).click();
    await region(alice, 'Chat').getByText('bob joined').waitFor();
    expect(await alice.locator('html').getAttribute('data-theme')).toBe('dark');
    await button(alice, 'Settings').click();
    expect(await alice.getByRole('radio', { name: 'Dark' }).isChecked()).toBe(true);
    expect(
      await alice.getByRole('checkbox', { name: /Show message text in notifications/ }).isChecked(),
    ).toBe(true);
    expect(await alice.getByLabel('Periodic rekey').inputValue()).toBe('24');
    await alice
      .locator(`li[data-relay="${teamRelay.url}"]`)
      .getByText('default', { exact: true })
      .waitFor();
    const view = new HostView(hosts[0]);
    expect(await view.call('getSettings', null)).toMatchObject({
      theme: 'dark',
      notificationText: true,
      rekeyIntervalHours: 24,
      defaultRelayUrl: teamRelay.url,
    });
    view.close();
    for (const p of pages) expect(pageProblems(p)).toEqual([]);
  });
});
