// Admission in the browser (docs/PROTOCOL.md "Admission policy"): three users on three browser
// hosts and one real relay. The founder's room is a knock room by default (the host is given no
// --admission); a second user knocks and reads "Waiting for a member to let you in"; the founder
// sees the knock with the joiner's fingerprint and admits it; they chat; a third user is declined
// and reads that they were not let in.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { pageProblems, shot } from './helpers/browser';
import { hostsSuite } from './helpers/suite';
import {
  button,
  eventually,
  fillJoinForm,
  memberStates,
  onboard,
  region,
  textbox,
} from './helpers/ui';

const SUITE = 'admission';
const NICKS = ['alice', 'bob', 'carol'] as const;
const ROOM = 'standup';

const suite = hostsSuite({ nicks: NICKS, tmpPrefix: 'conclave-e2e-admission-', admission: null });
const { pages, page } = suite;

const fingerprints: string[] = [];

/** The knock row for `nick` in a member's "Who can join" panel. */
const knockRow = (p: Page, nick: string) =>
  p.getByRole('list', { name: 'Asking to join' }).locator(`li[data-nick="${nick}"]`);

describe('admission through the UI', { timeout: 120_000 }, () => {
  it("the founder's new room is a knock room", async () => {
    for (const [i, nick] of NICKS.entries()) fingerprints[i] = await onboard(page(i), nick);
    await fillJoinForm(page(0), suite.relay.url, ROOM, 'alice');
    await button(page(0), 'Join').click();
    await eventually('alice is a member', async () => {
      expect(await memberStates(page(0))).toEqual({ alice: 'member' });
    });
    const policy = page(0).getByRole('combobox', { name: 'Who can join' });
    await eventually('the policy shows knock', async () => {
      expect(await policy.inputValue()).toBe('knock');
    });
    await expect(page(0).getByText('A member lets each newcomer in.').count()).resolves.toBe(1);
  });

  it('a knocking user waits until a member admits them; then they chat', async () => {
    await fillJoinForm(page(1), suite.relay.url, ROOM, 'bob');
    await button(page(1), 'Join').click();
    await eventually('bob reads that he is waiting to be let in', async () => {
      expect(
        await region(page(1), 'Join progress')
          .getByText('Waiting for a member to let you in')
          .count(),
      ).toBeGreaterThan(0);
    });
    const row = knockRow(page(0), 'bob');
    await eventually('alice sees bob knock, with his fingerprint', async () => {
      expect(await row.innerText()).toContain('bob asks to join');
      expect((await row.locator('.fingerprint').innerText()).replace(/\s+/g, ' ')).toBe(
        fingerprints[1],
      );
    });
    // Still nobody builds a session for bob: alice's room has one member.
    expect(await memberStates(page(0))).toEqual({ alice: 'member' });
    await shot(page(1), SUITE, '01-bob-waiting', 'knock-waiting');
    await shot(page(0), SUITE, '02-alice-sees-knock', 'knock-admit');

    await row.getByRole('button', { name: 'Admit', exact: true }).click();
    for (const i of [0, 1]) {
      await eventually(
        `${NICKS[i]} sees alice and bob as members`,
        async () => {
          expect(await memberStates(page(i))).toEqual({ alice: 'member', bob: 'member' });
        },
        60_000,
      );
    }
    await textbox(page(1), 'Message').fill('Thanks for letting me in!');
    await button(page(1), 'Send').click();
    await textbox(page(0), 'Message').fill('Welcome, bob.');
    await button(page(0), 'Send').click();
    for (const i of [0, 1]) {
      await eventually(`${NICKS[i]} has both messages`, async () => {
        const texts = await region(page(i), 'Chat').locator('li.message .bubble').allInnerTexts();
        expect(texts).toEqual(['Thanks for letting me in!', 'Welcome, bob.']);
      });
    }
  });

  it('a declined user is told so and stays out', async () => {
    await fillJoinForm(page(2), suite.relay.url, ROOM, 'carol');
    await button(page(2), 'Join').click();
    // Bob, admitted a moment ago, sees the knock too (it travelled in his state transfer or
    // arrived after him): he declines it.
    const row = knockRow(page(1), 'carol');
    await eventually('bob sees carol knock', async () => {
      expect(await row.innerText()).toContain('carol asks to join');
    });
    await row.getByRole('button', { name: 'Decline', exact: true }).click();
    await eventually('carol reads that she was not let in', async () => {
      expect(
        await page(2).getByText('You were not let in: bob declined your request to join.').count(),
      ).toBeGreaterThan(0);
    });
    await eventually('the knock is gone for alice', async () => {
      expect(await knockRow(page(0), 'carol').count()).toBe(0);
    });
    expect(await memberStates(page(0))).toEqual({ alice: 'member', bob: 'member' });
    await shot(page(2), SUITE, '03-carol-declined', 'knock-declined');
    for (const p of pages) expect(pageProblems(p)).toEqual([]);
  });
});
