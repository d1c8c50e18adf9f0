// Two users on two browser hosts. A joiner's progress is shown step by step while a member is
// unresponsive (its host frozen with SIGSTOP), with the composer disabled and the reason shown;
// then both compare safety numbers in the verification dialog and the marks follow. The first
// user does everything with the keyboard only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { ensureRendererBuilt } from './helpers/build';
import { launchChromium, openPage, pageProblems, shot } from './helpers/browser';
import { spawnHost, type HostProcess } from './helpers/hosts';
import {
  button,
  eventually,
  fillJoinForm,
  focusedLabel,
  memberStates,
  onboard,
  region,
  textbox,
} from './helpers/ui';

const SUITE = 'progress-and-verify';
const ROOM = 'pair';

let dir: string;
let relay: RunningRelay;
let browser: Browser;
let alice: HostProcess;
let bob: HostProcess;
let alicePage: Page;
let bobPage: Page;

beforeAll(async () => {
  ensureRendererBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conclave-e2e-pair-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  [alice, bob] = await Promise.all([
    spawnHost('alice', join(dir, 'alice'), relay.url),
    spawnHost('bob', join(dir, 'bob'), relay.url),
  ]);
  browser = await launchChromium();
  alicePage = await openPage(browser, alice.url);
  bobPage = await openPage(browser, bob.url);
}, 240_000);

afterAll(async () => {
  alice?.resume();
  await browser?.close();
  await Promise.all([alice?.stop(), bob?.stop()]);
  await relay?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Presses Tab until the focused element has the given accessible label (bounded). */
async function tabTo(page: Page, label: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    const focused = await focusedLabel(page);
    if (focused === label) return;
  }
  throw new Error(`could not reach "${label}" with Tab`);
}

describe('join progress and key verification', { timeout: 120_000 }, () => {
  it('onboards and joins with the keyboard only', async () => {
    await tabTo(alicePage, 'Nickname');
    await alicePage.keyboard.type('alice');
    await alicePage.keyboard.press('Enter');
    await button(alicePage, 'Continue').waitFor();
    await tabTo(alicePage, 'Continue');
    await alicePage.keyboard.press('Enter');

    await tabTo(alicePage, 'Relay URL');
    await alicePage.keyboard.press('ControlOrMeta+A');
    await alicePage.keyboard.type(relay.url);
    await alicePage.keyboard.press('Tab');
    await alicePage.keyboard.type(ROOM);
    await alicePage.keyboard.press('Enter');

    await eventually('alice founds the room', async () => {
      expect(await memberStates(alicePage)).toEqual({ alice: 'member' });
    });
    // The composer takes the focus once sending is possible: type and press Enter.
    await eventually('the composer is focused', async () => {
      expect(
        await textbox(alicePage, 'Message').evaluate((el) => el === el.ownerDocument.activeElement),
      ).toBe(true);
    });
    await alicePage.keyboard.type('Anyone here?');
    await alicePage.keyboard.press('Enter');
    await region(alicePage, 'Chat').getByText('Anyone here?').waitFor();
  });

  it("shows the joiner's progress while a member does not answer", async () => {
    await onboard(bobPage, 'bob');
    await fillJoinForm(bobPage, relay.url, ROOM, 'bob');
    alice.pause();
    try {
      await button(bobPage, 'Join').click();
      const progress = region(bobPage, 'Join progress');
      await progress.waitFor();
      await eventually('the join request is sent and bob waits for the members', async () => {
        const steps = await progress
          .locator('li[data-step]')
          .evaluateAll((lis) =>
            lis.map((li) => `${li.getAttribute('data-step')}:${li.className.split(' ')[0]}`),
          );
        expect(steps).toEqual([
          'connect:done',
          'request:done',
          'tokens:active',
          'shares:pending',
          'confirmations:pending',
          'member:pending',
        ]);
      });
      // Nothing can be sent yet, and the composer says why.
      expect(await textbox(bobPage, 'Message').isDisabled()).toBe(true);
      expect(await button(bobPage, 'Send').isDisabled()).toBe(true);
      await bobPage.getByText('You are not in the room yet').waitFor();
      await shot(bobPage, SUITE, '01-waiting-for-members', 'join-progress');
      // Still waiting a moment later: the member is frozen.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await progress.count()).toBe(1);
    } finally {
      alice.resume();
    }
    for (const page of [alicePage, bobPage]) {
      await eventually(
        'both are members',
        async () => {
          expect(await memberStates(page)).toEqual({ alice: 'member', bob: 'member' });
        },
        45_000,
      );
    }
    expect(await region(bobPage, 'Join progress').count()).toBe(0);
    expect(await textbox(bobPage, 'Message').isDisabled()).toBe(false);
    await shot(bobPage, SUITE, '02-admitted');
  });

  it('shows the same safety number on both sides and marks the verified member', async () => {
    const readSafety = async (page: Page, nick: string) => {
      await page.getByRole('button', { name: `Verify ${nick}`, exact: true }).focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: `Verify ${nick}` });
      await dialog.waitFor();
      const group = dialog.getByRole('group', { name: 'Safety number' });
      await group.locator('span.mono').first().waitFor();
      return (await group.innerText()).replace(/\s+/g, ' ').trim();
    };
    const seenByAlice = await readSafety(alicePage, 'bob');
    const seenByBob = await readSafety(bobPage, 'alice');
    expect(seenByAlice).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(seenByBob).toBe(seenByAlice);
    await shot(alicePage, SUITE, '03-verify-dialog', 'verify');

    // Alice confirms by keyboard: the dialog closes and says so. Bob closes his with Escape
    // without verifying.
    await button(alicePage, 'Mark as verified').focus();
    await alicePage.keyboard.press('Enter');
    await alicePage.getByRole('status').getByText('bob is verified.').waitFor();
    expect(await alicePage.getByRole('dialog').count()).toBe(0);
    await bobPage.keyboard.press('Escape');
    expect(await bobPage.getByRole('dialog').count()).toBe(0);

    const bobRow = region(alicePage, 'Members').locator('li[data-nick="bob"]');
    await bobRow.getByRole('img', { name: 'verified' }).waitFor();
    expect(
      await region(bobPage, 'Members')
        .locator('li[data-nick="alice"]')
        .getByRole('img', { name: 'verified' })
        .count(),
    ).toBe(0);

    await textbox(bobPage, 'Message').fill('Verified me? Good.');
    await button(bobPage, 'Send').click();
    const message = region(alicePage, 'Chat').locator('li.message[data-from="bob"]').last();
    await message.getByText('Verified me? Good.').waitFor();
    expect(await message.getAttribute('data-mark')).toBe('verified');
    // Bob has not verified alice: her messages carry the unverified mark on his side. (He never
    // sees "Anyone here?": it was sent before he was admitted.)
    await textbox(alicePage, 'Message').fill('Yes, and the numbers matched.');
    await textbox(alicePage, 'Message').press('Enter');
    const onBob = region(bobPage, 'Chat').locator('li.message[data-from="alice"]');
    await onBob.getByText('Yes, and the numbers matched.').waitFor();
    expect(await onBob.count()).toBe(1);
    expect(await onBob.getAttribute('data-mark')).toBe('unverified');
    await shot(alicePage, SUITE, '04-verified');
    for (const page of [alicePage, bobPage]) expect(pageProblems(page)).toEqual([]);
  });
  it('warns about a changed identity key until the user accepts it', async () => {
    // Bob leaves, loses his profile and comes back under the same nick with a new identity.
    await button(bobPage, 'Leave').click();
    await textbox(bobPage, 'Room').waitFor();
    await bob.stop();
    await bobPage.context().close();
    bob = await spawnHost('bob-again', join(dir, 'bob-again'), relay.url);
    bobPage = await openPage(browser, bob.url);
    await onboard(bobPage, 'bob');
    await fillJoinForm(bobPage, relay.url, ROOM, 'bob');
    await button(bobPage, 'Join').click();

    const bobRow = region(alicePage, 'Members').locator('li[data-nick="bob"]');
    await eventually(
      'alice sees bob back, with a changed key',
      async () => {
        expect(await bobRow.getAttribute('data-state')).toBe('member');
        expect(await bobRow.getByText('key changed').count()).toBe(1);
      },
      45_000,
    );
    // The old verification does not carry over to the new key.
    expect(await bobRow.getByRole('img', { name: 'verified' }).count()).toBe(0);
    await region(alicePage, 'Chat').getByText("bob's identity key changed").waitFor();

    await textbox(bobPage, 'Message').fill('New laptop, same bob.');
    await button(bobPage, 'Send').click();
    const message = region(alicePage, 'Chat').locator('li.message[data-from="bob"]').last();
    await message.getByText('New laptop, same bob.').waitFor();
    expect(await message.getAttribute('data-mark')).toBe('key-changed');

    await alicePage.getByRole('button', { name: 'Verify bob', exact: true }).click();
    const dialog = alicePage.getByRole('dialog', { name: 'Verify bob' });
    await dialog.getByText("bob's identity key changed.").waitFor();
    await shot(alicePage, SUITE, '05-key-changed');
    // No safety number to compare, and nothing to verify, until the new key is accepted.
    const safety = dialog.getByRole('group', { name: 'Safety number' });
    expect(await safety.innerText()).toContain('Accept the new key first');
    expect(await button(alicePage, 'Mark as verified').isDisabled()).toBe(true);
    await button(alicePage, 'Accept new key').click();
    await eventually('the warning is gone once accepted', async () => {
      expect(await bobRow.getByText('key changed').count()).toBe(0);
      expect(await message.getAttribute('data-mark')).toBe('unverified');
    });
    // Now the safety number is the one for the new key: the same as on bob's new install.
    await safety.locator('span.mono').first().waitFor();
    const seenByAlice = (await safety.innerText()).replace(/\s+/g, ' ').trim();
    await bobPage.getByRole('button', { name: 'Verify alice', exact: true }).click();
    const bobSafety = bobPage
      .getByRole('dialog', { name: 'Verify alice' })
      .getByRole('group', { name: 'Safety number' });
    await bobSafety.locator('span.mono').first().waitFor();
    expect((await bobSafety.innerText()).replace(/\s+/g, ' ').trim()).toBe(seenByAlice);
    await bobPage.keyboard.press('Escape');
    await alicePage.keyboard.press('Escape');
    for (const page of [alicePage, bobPage]) expect(pageProblems(page)).toEqual([]);
  });
});
