// Issue 11 in the browser: a member that vetoes every joiner falsely (a real engine over the real
// relay, with a tampering send path) is blamed by everyone at one ordered event; the user sees
// the sentence in the timeline and in the debug panel, and the joiner gets in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { vetoInstead } from '../../src-main/sim/adversary';
import { ensureRendererBuilt } from './helpers/build';
import { launchChromium, openPage, pageProblems, shot } from './helpers/browser';
import { startEvilClient, type EvilClient } from './helpers/evil-client';
import { spawnHost, type HostProcess } from './helpers/hosts';
import { button, eventually, fillJoinForm, memberStates, onboard, region } from './helpers/ui';

const SUITE = 'blame';
const ROOM = 'accountable';
const SENTENCE = "carol vetoed bob, but bob's token was correct; carol was removed";

let dir: string;
let relay: RunningRelay;
let browser: Browser;
let alice: HostProcess;
let bob: HostProcess;
let carol: EvilClient | null = null;
let alicePage: Page;
let bobPage: Page;

beforeAll(async () => {
  ensureRendererBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conclave-e2e-blame-'));
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
  carol?.close();
  await browser?.close();
  await Promise.all([alice?.stop(), bob?.stop()]);
  await relay?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a false veto seen by users', () => {
  it('names carol in the timeline and the debug panel, and lets bob in', async () => {
    await onboard(alicePage, 'alice');
    await fillJoinForm(alicePage, relay.url, ROOM, 'alice');
    await button(alicePage, 'Join').click();
    await eventually('alice founds the room', async () => {
      expect(await memberStates(alicePage)).toEqual({ alice: 'member' });
    });

    // carol is admitted honestly, then answers every join session with a veto.
    carol = await startEvilClient(
      relay.url,
      ROOM,
      'carol',
      (c) => (data) => (data[1] === 2 ? vetoInstead(c, data) : data),
    );
    await eventually(
      'carol is a member',
      async () => {
        expect(await memberStates(alicePage)).toEqual({ alice: 'member', carol: 'member' });
      },
      30_000,
    );

    await onboard(bobPage, 'bob');
    await fillJoinForm(bobPage, relay.url, ROOM, 'bob');
    await button(bobPage, 'Join').click();
    try {
      await eventually(
        'bob is in and carol is out',
        async () => {
          // carol may still be listed as one who can no longer read, never as a member.
          const { carol: out, ...rest } = await memberStates(alicePage);
          expect(rest).toEqual({ alice: 'member', bob: 'member' });
          expect([undefined, 'cannot-read']).toContain(out);
        },
        60_000,
      );
    } catch (error) {
      const tail = carol.events
        .filter((e) => e.type !== 'progress')
        .slice(-30)
        .map((e) => JSON.stringify(e).slice(0, 240));
      throw new Error(`${String(error)}\ncarol's engine:\n${tail.join('\n')}`, { cause: error });
    }

    // The timeline says who was blamed and why, in one sentence; nobody blames bob.
    const chat = region(alicePage, 'Chat');
    const notice = chat.locator('li.notice[data-kind="blame"]');
    await notice.first().waitFor();
    expect(await notice.allInnerTexts()).toEqual([expect.stringContaining(SENTENCE)]);
    expect(await chat.innerText()).not.toContain('bob was');
    expect(carol.events.some((e) => e.type === 'blame' && e.nick === 'carol')).toBe(true);
    await shot(alicePage, SUITE, '01-blame-timeline', 'blame-timeline');

    // The debug panel lists it with its cause.
    await alicePage.keyboard.press('Control+Shift+D');
    const blames = alicePage.getByTestId('blames');
    await blames.waitFor();
    const row = blames.locator('li[data-nick="carol"]');
    expect(await row.getAttribute('data-cause')).toBe('false-veto');
    expect(await row.innerText()).toContain(SENTENCE);
    await shot(alicePage, SUITE, '02-blame-debug-panel', 'blame-debug-panel');
    expect(pageProblems(alicePage)).toEqual([]);
    expect(pageProblems(bobPage)).toEqual([]);
  }, 180_000);
});
