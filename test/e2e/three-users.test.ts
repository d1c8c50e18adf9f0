// Three users on three browser hosts (separate processes, separate profiles) and one real relay,
// driven through the UI in Chromium: they join one room at the same moment, their member lists
// converge, join progress shows while they join, messages flow, one leaves and the others see
// both steps of the leave, and the debug panel agrees with each runtime's own view of sessions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pageProblems, shot } from './helpers/browser';
import { hostsSuite } from './helpers/suite';
import {
  button,
  eventually,
  fillJoinForm,
  memberStates,
  onboard,
  panelSessions,
  recordedProgress,
  recordProgress,
  region,
  textbox,
} from './helpers/ui';

const SUITE = 'three-users';
const NICKS = ['alice', 'bob', 'carol'] as const;
const ROOM = 'launch-plans';

const suite = hostsSuite({ nicks: NICKS, tmpPrefix: 'conclave-e2e-three-' });
const { pages, page, view } = suite;

const roomIds: string[] = [];
/** A user whose debug panel shows sessions in every status. */
let observer = 0;

/** The panel's sid -> status must equal the runtime's, read at the same quiet moment. */
async function expectPanelMatchesRuntime(i: number): Promise<Record<string, string>> {
  return eventually(`${NICKS[i]}'s debug panel matches the runtime`, async () => {
    const state = await view(i).call('roomState', { roomId: roomIds[i] as string });
    const runtime = Object.fromEntries(state.sessions.map((s) => [s.sid, s.status]));
    const panel = await panelSessions(page(i));
    expect(panel).toEqual(runtime);
    return runtime;
  });
}

describe('three users in one room, through the UI', { timeout: 120_000 }, () => {
  it('onboards each user: nickname, identity, fingerprint', async () => {
    for (const [i, nick] of NICKS.entries()) {
      const fingerprint = await onboard(page(i), nick);
      expect(fingerprint).toMatch(/^(\d{5} ){5}\d{5}$/);
      const identity = await view(i).call('identity', null);
      expect(identity?.fingerprint).toBe(fingerprint);
    }
    await shot(page(0), SUITE, '01-join-form');
  });

  it('joins all three at the same moment, shows progress, and converges', async () => {
    for (const [i, nick] of NICKS.entries()) {
      await fillJoinForm(page(i), suite.relay.url, ROOM, nick);
      await recordProgress(page(i));
    }
    await shot(page(1), SUITE, '02-join-form-filled');
    await Promise.all(pages.map((p) => button(p, 'Join').click()));
    await Promise.all(pages.map((p, i) => shot(p, SUITE, `03-joining-${NICKS[i]}`)));

    for (const [i] of NICKS.entries()) {
      await eventually(
        `${NICKS[i]} sees all three as members`,
        async () => {
          expect(await memberStates(page(i))).toEqual({
            alice: 'member',
            bob: 'member',
            carol: 'member',
          });
        },
        60_000,
      );
    }
    for (const [i] of NICKS.entries()) {
      const rooms = await view(i).call('listRooms', null);
      roomIds[i] = rooms.find((r) => r.room === ROOM)?.id as string;
      const state = await view(i).call('roomState', { roomId: roomIds[i] as string });
      expect(state.phase).toBe('member');
      expect([...(state.current?.members ?? [])].sort()).toEqual([...NICKS]);
    }
    // One current session, the same on every client.
    const sids = await Promise.all(
      NICKS.map(
        async (_, i) =>
          (await view(i).call('roomState', { roomId: roomIds[i] as string })).current?.sid,
      ),
    );
    expect(new Set(sids).size).toBe(1);

    // Join progress appeared while joining: every user's own card, and a "joining" row in some
    // member's list for each of the users who were admitted by others.
    const seen = await Promise.all(pages.map((p) => recordedProgress(p)));
    for (const [i, nick] of NICKS.entries()) {
      expect(
        seen[i]?.some((s) => s.startsWith('card ')),
        `${nick}'s own join progress`,
      ).toBe(true);
    }
    const admitted = NICKS.filter((n) => seen.some((s) => s.includes(`joining ${n}`)));
    expect(admitted.length).toBeGreaterThanOrEqual(2);
    const stepsReached = seen.flat().filter((s) => s.startsWith('card '));
    expect(stepsReached.some((s) => /tokens:(active|done)/.test(s))).toBe(true);

    await shot(page(0), SUITE, '04-members-converged', 'room');
    for (const p of pages) expect(pageProblems(p)).toEqual([]);
  });

  it('delivers messages to everyone, in the same order', async () => {
    await textbox(page(0), 'Message').fill(
      'Morning! Draft of the launch plan is in the usual place.',
    );
    await button(page(0), 'Send').click();
    await textbox(page(1), 'Message').fill('Thanks, reading it now.');
    await textbox(page(1), 'Message').press('Enter');
    await textbox(page(2), 'Message').fill('Same here. Can we go over the dates at 11?');
    await button(page(2), 'Send').click();

    for (const [i] of NICKS.entries()) {
      await eventually(`${NICKS[i]} has all three messages`, async () => {
        const texts = await region(page(i), 'Chat').locator('li.message .bubble').allInnerTexts();
        expect(texts).toHaveLength(3);
        expect(texts).toContain('Thanks, reading it now.');
      });
    }
    const orders = await Promise.all(
      pages.map((p) =>
        region(p, 'Chat')
          .locator('li.message')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-from'))),
      ),
    );
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    // What the UI shows is what the runtime stored.
    const history = await view(2).call('history', { roomId: roomIds[2] as string });
    expect(history.map((m) => m.from)).toEqual(orders[2]);
    await shot(page(1), SUITE, '05-chat', 'chat');
  });

  it('shows every session in the debug panel exactly as the runtime sees it', async () => {
    // The user admitted last never held the previous key, so it has nothing draining; the
    // others keep the previous current session in limbo for late messages. Look at one of them.
    const states = await Promise.all(
      NICKS.map((_, i) => view(i).call('roomState', { roomId: roomIds[i] as string })),
    );
    const limbo = (i: number) => states[i]?.sessions.some((s) => s.status === 'in-limbo');
    const dead = (i: number) => states[i]?.sessions.some((s) => s.status === 'dead');
    observer = [0, 1, 2].find((i) => limbo(i) && dead(i)) ?? [0, 1, 2].find(limbo) ?? -1;
    expect(observer, 'some member keeps a session in limbo').toBeGreaterThanOrEqual(0);
    const p = page(observer);

    await p.keyboard.press('Control+Shift+D');
    await region(p, 'Sessions').waitFor();
    const sessions = await expectPanelMatchesRuntime(observer);
    const statuses = Object.values(sessions);
    expect(statuses.filter((s) => s === 'current')).toHaveLength(1);
    expect(statuses).toContain('in-limbo');
    // Every user's panel agrees with its own runtime, whatever it holds.
    for (const i of [0, 1, 2].filter((i) => i !== observer)) {
      await page(i).keyboard.press('Control+Shift+D');
      await expectPanelMatchesRuntime(i);
      await page(i).keyboard.press('Control+Shift+D');
      expect(await region(page(i), 'Sessions').count()).toBe(0);
    }

    // Each row shows the short sid, members and progress counts of that session.
    const state = await view(observer).call('roomState', { roomId: roomIds[observer] as string });
    const current = state.sessions.find((s) => s.status === 'current')!;
    const row = region(p, 'Sessions').locator(`tr[data-sid="${current.sid}"]`);
    expect(await row.locator('td').first().innerText()).toBe(current.sid.slice(0, 8));
    expect(await row.innerText()).toContain(current.members.join(', '));
    expect(await row.innerText()).toContain(
      `${current.progress.confirmations.have}/${current.progress.confirmations.need}`,
    );
    // The raw event log lists the relay's events with their outcome.
    const log = region(p, 'Sessions').getByRole('region', { name: 'Event log' });
    expect(await log.locator('tbody tr').count()).toBeGreaterThan(5);
    // The client's signature-check threads: their counters, and no refused signature.
    const checks = await p.getByTestId('verification').innerText();
    if (state.verification) {
      expect(checks).toMatch(/^Signatures: \d+ on \d+ threads? · \d+ taken back · 0 refused$/);
      expect(state.verification.failed).toBe(0);
      expect(state.verification.verified + state.verification.stolen).toBeGreaterThan(0);
    } else {
      expect(checks).toBe('Signatures: all on the main thread');
    }
    await shot(p, SUITE, '06-debug-panel', 'debug-panel');

    // The panel's button closes it and Ctrl+Shift+D brings it back.
    await button(p, 'Close debug panel').click();
    expect(await region(p, 'Sessions').count()).toBe(0);
    await p.keyboard.press('Control+Shift+D');
    await region(p, 'Sessions').waitFor();
  });

  it('exports a debug bundle without secrets', async () => {
    const p = page(observer);
    const [download] = await Promise.all([
      p.waitForEvent('download'),
      button(p, 'Export debug bundle').click(),
    ]);
    const path = join(suite.dir, 'bundle.json');
    await download.saveAs(path);
    const text = readFileSync(path, 'utf8');
    const bundle = JSON.parse(text) as { state: { sessions: unknown[] }; eventLog: unknown[] };
    expect(bundle.state.sessions.length).toBeGreaterThan(0);
    expect(bundle.eventLog.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/secret|privateKey|"sk"/i);
    expect(download.suggestedFilename()).toMatch(/^conclave-debug-launch-plans-.*\.json$/);
  });

  it('lets one user leave; the others see both steps of the leave', async () => {
    await button(page(2), 'Leave').click();
    // Carol is back at the join form, with the room among her recent rooms.
    await textbox(page(2), 'Room').waitFor();
    await page(2)
      .getByRole('button', { name: `Rejoin ${ROOM} as carol` })
      .waitFor();

    for (const i of [0, 1]) {
      await eventually(
        `${NICKS[i]} sees carol leave in two steps`,
        async () => {
          const notices = await region(page(i), 'Chat').locator('li.notice').allInnerTexts();
          expect(notices.some((t) => t.includes('carol left'))).toBe(true);
          expect(notices.some((t) => t.includes('carol can no longer read new messages'))).toBe(
            true,
          );
          const states = await memberStates(page(i));
          expect(states['alice']).toBe('member');
          expect(states['bob']).toBe('member');
          expect(states['carol'] ?? 'cannot-read').toBe('cannot-read');
        },
        45_000,
      );
      const state = await view(i).call('roomState', { roomId: roomIds[i] as string });
      expect([...(state.current?.members ?? [])].sort()).toEqual(['alice', 'bob']);
    }
    // The leave notice comes before "can no longer read" in the chat.
    const notices = await region(page(1), 'Chat').locator('li.notice').allInnerTexts();
    const left = notices.findIndex((t) => t.includes('carol left'));
    const unreadable = notices.findIndex((t) => t.includes('carol can no longer read'));
    expect(left).toBeGreaterThanOrEqual(0);
    expect(unreadable).toBeGreaterThan(left);

    // Sending still works for the two who stayed.
    await textbox(page(1), 'Message').fill('Just us two now.');
    await button(page(1), 'Send').click();
    await eventually('alice gets the message sent after the leave', async () => {
      const texts = await region(page(0), 'Chat').locator('li.message .bubble').allInnerTexts();
      expect(texts).toContain('Just us two now.');
    });
    await shot(page(1), SUITE, '07-after-leave', 'after-leave');
    await shot(page(2), SUITE, '08-left-user');
  });

  it('keeps the debug panel consistent after the leave (current, in-limbo and dead)', async () => {
    // Both who stayed held the key of the session with carol: it now drains in limbo. Whoever
    // of them was in the room before the last join also has the session before it, now dead.
    const seen = new Set<string>();
    for (const i of [0, 1]) {
      if ((await region(page(i), 'Sessions').count()) === 0) {
        await button(page(i), 'Debug').click();
      }
      const statuses = Object.values(await expectPanelMatchesRuntime(i));
      expect(statuses.filter((s) => s === 'current')).toHaveLength(1);
      expect(statuses).toContain('in-limbo');
      for (const status of statuses) seen.add(status);
    }
    expect([...seen].sort()).toEqual(['current', 'dead', 'in-limbo']);
    await shot(page(0), SUITE, '09-debug-after-leave');
  });

  it('follows the system theme', async () => {
    await page(1).emulateMedia({ colorScheme: 'dark' });
    const background = await page(1)
      .locator('body')
      .evaluate((body) => body.ownerDocument.defaultView.getComputedStyle(body).backgroundColor);
    expect(background).toBe('rgb(14, 17, 21)');
    await shot(page(1), SUITE, '10-dark', 'dark');
    await page(1).emulateMedia({ colorScheme: 'light' });
    for (const p of pages) expect(pageProblems(p)).toEqual([]);
  });
});
