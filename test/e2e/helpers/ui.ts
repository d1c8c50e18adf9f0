// What a user does in the UI, using the accessible names the issue fixes (inputs "Relay URL",
// "Room", "Nickname", "Message"; buttons "Join", "Leave", "Send"; regions "Members", "Chat",
// "Sessions"), and what the tests read back from the page.
import type { Locator, Page } from 'playwright-core';

export const region = (page: Page, name: 'Members' | 'Chat' | 'Sessions' | 'Join progress') =>
  page.getByRole('region', { name, exact: true });

export const textbox = (page: Page, name: 'Relay URL' | 'Room' | 'Nickname' | 'Message') =>
  page.getByRole('textbox', { name, exact: true });

export const button = (page: Page, name: string): Locator =>
  page.getByRole('button', { name, exact: true });

/** First run: nickname, create the identity, read the fingerprint, continue. */
export async function onboard(page: Page, nick: string): Promise<string> {
  await textbox(page, 'Nickname').fill(nick);
  await button(page, 'Create identity').click();
  const fingerprint = (await page.getByTestId('own-fingerprint').innerText()).replace(/\s+/g, ' ');
  await button(page, 'Continue').click();
  await textbox(page, 'Relay URL').waitFor();
  return fingerprint.trim();
}

export async function fillJoinForm(page: Page, relayUrl: string, room: string, nick: string) {
  await textbox(page, 'Relay URL').fill(relayUrl);
  await textbox(page, 'Room').fill(room);
  await textbox(page, 'Nickname').fill(nick);
}

/** The member list as [nick, state] pairs, from the Members region. */
export async function memberStates(page: Page): Promise<Record<string, string>> {
  return region(page, 'Members')
    .locator('li[data-nick]')
    .evaluateAll((rows) =>
      Object.fromEntries(
        rows.map((r) => [r.getAttribute('data-nick') ?? '', r.getAttribute('data-state') ?? '']),
      ),
    );
}

/** The debug panel's sessions as sid -> status. */
export async function panelSessions(page: Page): Promise<Record<string, string>> {
  return region(page, 'Sessions')
    .locator('tr[data-sid]')
    .evaluateAll((rows) =>
      Object.fromEntries(
        rows.map((r) => [r.getAttribute('data-sid') ?? '', r.getAttribute('data-status') ?? '']),
      ),
    );
}

/**
 * Records, from now on, every join-progress state the page renders (the joiner's card, the
 * members' "joining" rows, a batch's lines): joins on loopback take milliseconds, so polling
 * would miss them.
 */
export async function recordProgress(page: Page): Promise<void> {
  // Runs in the page. This project type-checks tests without the DOM library, so the page's
  // globals are reached through the element Playwright hands over.
  await page.locator('body').evaluate((body) => {
    const doc = body.ownerDocument;
    const seen: string[] = [];
    doc.defaultView.__progress = seen;
    const capture = () => {
      const card = doc.querySelector('section[aria-label="Join progress"]');
      if (card) {
        const steps = [...card.querySelectorAll('li[data-step]')]
          .map((li) => `${li.getAttribute('data-step')}:${String(li.className).split(' ')[0]}`)
          .join(',');
        seen.push(`card ${steps}`);
      }
      for (const row of doc.querySelectorAll('li[data-state="joining"]')) {
        seen.push(`joining ${row.getAttribute('data-nick')}`);
      }
      // A batch session (issue 13): the members' line and the joiner's "together" line.
      for (const line of doc.querySelectorAll('[data-testid="batch-progress"]')) {
        seen.push(`batch ${String(line.textContent).trim()}`);
      }
      for (const line of doc.querySelectorAll('[data-testid="joining-together"]')) {
        seen.push(`together ${String(line.textContent).trim()}`);
      }
    };
    new doc.defaultView.MutationObserver(capture).observe(doc.body, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
    capture();
  });
}

export async function recordedProgress(page: Page): Promise<string[]> {
  return page
    .locator('body')
    .evaluate((body) => (body.ownerDocument.defaultView.__progress ?? []) as string[]);
}

/** The accessible label of the focused element (its aria-label or its <label>). */
export async function focusedLabel(page: Page): Promise<string> {
  return page.locator('body').evaluate((body) => {
    const doc = body.ownerDocument;
    const el = doc.activeElement;
    if (!el) return '';
    const id = el.getAttribute('id');
    const byFor = id ? doc.querySelector(`label[for="${id}"]`)?.textContent : null;
    return String(el.getAttribute('aria-label') ?? byFor ?? el.textContent ?? '').trim();
  });
}

/** Polls until `check` passes or the time is up; the last failure explains what was wrong. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) {
      throw new Error(`${what}: not reached in ${timeoutMs} ms: ${String(last)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
