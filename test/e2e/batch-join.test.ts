// Batch admission (issue 13) through the UI: alice founds a room on a browser host, and ada,
// brian and chen, each on their own host, press Join at the same moment while alice's host is
// frozen, so all three requests are ordered before alice answers (the relay's metrics count them)
// and the room admits them in one batch session. While the batch waits for chen (frozen in turn for a moment, well under the
// batch's 5 s stall timer), alice's "Changes in progress" says "3 people are joining" and ada's
// card says she joins with two others; once it wins, the timelines show ONE line naming all
// three, and the debug panel lists the batch with the joiners it admitted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { ensureRendererBuilt } from './helpers/build';
import { launchChromium, openPage, pageProblems, shot } from './helpers/browser';
import { HostView, spawnHost, type HostProcess } from './helpers/hosts';
import {
  button,
  eventually,
  fillJoinForm,
  memberStates,
  onboard,
  recordedProgress,
  recordProgress,
  region,
} from './helpers/ui';

const SUITE = 'batch-join';
const ROOM = 'arrivals';
const JOINERS = ['ada', 'brian', 'chen'] as const;
const NICKS = ['alice', ...JOINERS] as const;
type Nick = (typeof NICKS)[number];

let dir: string;
let relay: RunningRelay;
let browser: Browser;
const hosts: HostProcess[] = [];
const pages: Page[] = [];
let aliceView: HostView;

beforeAll(async () => {
  ensureRendererBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conclave-e2e-batch-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  hosts.push(...(await Promise.all(NICKS.map((n) => spawnHost(n, join(dir, n), relay.url)))));
  aliceView = new HostView(hosts[0] as HostProcess);
  browser = await launchChromium();
  for (const h of hosts) pages.push(await openPage(browser, h.url));
}, 240_000);

afterAll(async () => {
  for (const h of hosts) h.resume();
  await browser?.close();
  aliceView?.close();
  await Promise.all(hosts.map((h) => h.stop()));
  await relay?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const page = (nick: Nick) => pages[NICKS.indexOf(nick)] as Page;
const host = (nick: Nick) => hosts[NICKS.indexOf(nick)] as HostProcess;

/** The chat's 'joined' lines, as shown. */
async function joinedLines(p: Page): Promise<string[]> {
  return region(p, 'Chat')
    .locator('li[data-kind="joined"] span')
    .evaluateAll((spans) => spans.map((s) => String(s.textContent).trim()));
}

/** "ada, brian and chen" in whatever order the session lists them, as a sorted list. */
function names(list: string): string[] {
  return list.split(/, | and /).sort();
}

/** Frames the relay has taken from clients so far (its metrics, as a monitor reads them). */
async function framesReceived(): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  return Number(/^conclave_relay_events_in_total\{type="send"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe('three joiners admitted in one batch, through the UI', { timeout: 150_000 }, () => {
  it('alice founds the room', async () => {
    for (const nick of NICKS) await onboard(page(nick), nick);
    await fillJoinForm(page('alice'), relay.url, ROOM, 'alice');
    await button(page('alice'), 'Join').click();
    await eventually('alice founds the room', async () => {
      expect(await memberStates(page('alice'))).toEqual({ alice: 'member' });
    });
  });

  it('shows the three arriving together, then one joined line and a batch session', async () => {
    for (const nick of NICKS) await recordProgress(page(nick));
    for (const nick of JOINERS) await fillJoinForm(page(nick), relay.url, ROOM, nick);
    const before = await framesReceived();
    host('alice').pause();
    try {
      await Promise.all(JOINERS.map((nick) => button(page(nick), 'Join').click()));
      // alice sends nothing while frozen: the three new frames are the joiners' requests.
      await eventually('the relay has the three join requests', async () => {
        expect(await framesReceived()).toBeGreaterThanOrEqual(before + 3);
      });
      // chen stops answering before the batch forms: it waits for chen's share and holds still
      // long enough to read and photograph.
      host('chen').pause();
    } finally {
      host('alice').resume();
    }
    try {
      const batchLine = region(page('alice'), 'Members').getByTestId('batch-progress');
      await eventually('alice sees three people joining together', async () => {
        expect(await batchLine.innerText()).toMatch(
          /^3 people are joining: auth \d+\/\d+ · shares \d+\/\d+ · confirmed \d+\/\d+$/,
        );
      });
      // The one-joiner joins the batch covers (its fallback) are not listed beside it.
      const changes = region(page('alice'), 'Members')
        .getByRole('region', { name: 'Changes in progress' })
        .getByRole('listitem');
      await eventually('alice lists only the batch among the changes', async () => {
        expect(await changes.count()).toBe(1);
        expect(await changes.getByTestId('batch-progress').count()).toBe(1);
      });
      await shot(page('alice'), SUITE, '01-batch-progress', 'batch-join-progress');
      const together = await page('ada').getByTestId('joining-together').innerText();
      expect(together).toMatch(/^You and 2 others are joining together: \w+ and \w+$/);
      expect(names(together.replace(/^.*together: /, ''))).toEqual(['brian', 'chen']);
      await shot(page('ada'), SUITE, '02-batch-card', 'batch-join-card');
    } finally {
      host('chen').resume();
    }

    for (const nick of NICKS) {
      await eventually(
        `${nick} sees all four as members`,
        async () => {
          expect(await memberStates(page(nick))).toEqual({
            alice: 'member',
            ada: 'member',
            brian: 'member',
            chen: 'member',
          });
        },
        60_000,
      );
    }
    // One line for the three on alice's side; a joiner reads it with itself first.
    const aliceLines = await eventually('one joined line for the three', async () => {
      const lines = await joinedLines(page('alice'));
      expect(lines).toHaveLength(2);
      return lines;
    });
    expect(aliceLines[0]).toBe('you joined the room');
    expect(aliceLines[1]).toMatch(/^\w+, \w+ and \w+ joined$/);
    expect(names(String(aliceLines[1]).replace(/ joined$/, ''))).toEqual([...JOINERS]);
    const brianLines = await joinedLines(page('brian'));
    expect(brianLines).toHaveLength(1);
    expect(brianLines[0]).toMatch(/^you joined the room with \w+ and \w+$/);
    expect(names(String(brianLines[0]).replace(/^.* with /, ''))).toEqual(['ada', 'chen']);
    await shot(page('alice'), SUITE, '03-joined-together', 'batch-joined');

    // The runtime's own view: the current session is a batch admitting the three.
    const roomId = (await aliceView.call('listRooms', null)).find((r) => r.room === ROOM)?.id;
    const state = await aliceView.call('roomState', { roomId: roomId as string });
    const current = state.sessions.find((s) => s.sid === state.current?.sid);
    expect(current?.kind).toBe('batch');
    expect([...(current?.joiners ?? [])].sort()).toEqual([...JOINERS]);

    // The debug panel lists it as a batch, with the joiners it admitted.
    await button(page('alice'), 'Debug').click();
    const row = region(page('alice'), 'Sessions').locator(`tr[data-sid="${current?.sid}"]`);
    expect(await row.getAttribute('data-kind')).toBe('batch');
    const admits = await row.getByTestId('batch-joiners').innerText();
    expect(
      admits
        .replace(/^admits /, '')
        .split(', ')
        .sort(),
    ).toEqual([...JOINERS]);
    await shot(page('alice'), SUITE, '04-debug-panel');

    // What the pages rendered while it happened agrees, the other joiners' cards included.
    const seen = await recordedProgress(page('alice'));
    expect(seen.some((s) => s.startsWith('batch 3 people are joining: '))).toBe(true);
    for (const nick of ['brian', 'chen'] as const) {
      const theirs = await recordedProgress(page(nick));
      expect(theirs.some((s) => s.startsWith('together You and 2 others are joining'))).toBe(true);
    }
    for (const nick of NICKS) expect(pageProblems(page(nick))).toEqual([]);
  });
});
