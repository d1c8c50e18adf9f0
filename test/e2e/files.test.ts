// Encrypted files through the UI: three users on three browser hosts and one real relay, in
// Chromium. A 5 MB file (attach button) and an image (drag and drop) go from one user to the
// others with progress bars on both sides; a pasted image goes too; the image shows inline from a
// blob: URL; a fourth user who joins later sees none of them and cannot read them through the
// API; a 30 MB file is refused in the composer with a message. No CSP violation on any page.
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { pageProblems, shot } from './helpers/browser';
import { hostsSuite } from './helpers/suite';
import { button, eventually, fillJoinForm, memberStates, onboard, region } from './helpers/ui';

const SUITE = 'files';
const NICKS = ['alice', 'bob', 'carol', 'dave'] as const;
const ROOM = 'design-review';
const BIG = 5 * 1024 * 1024;

const suite = hostsSuite({ nicks: NICKS, tmpPrefix: 'conclave-e2e-files-' });
const { pages, page, view } = suite;

const roomIds: string[] = [];

/** Records every progress bar state the page renders (transfers on loopback are quick). */
async function recordBars(p: Page): Promise<void> {
  await p.evaluate(`(() => {
    const seen = [];
    window.__bars = seen;
    const capture = () => {
      for (const bar of document.querySelectorAll('progress[aria-label]')) {
        const label = bar.getAttribute('aria-label');
        if (/^(Sending|Receiving|Preparing) /.test(label)) seen.push(label + '=' + bar.value + '/' + bar.max);
      }
    };
    new MutationObserver(capture).observe(document.body, {
      subtree: true, childList: true, attributes: true, attributeFilter: ['value'],
    });
    capture();
  })()`);
}

async function bars(p: Page): Promise<string[]> {
  return p.evaluate('window.__bars || []') as Promise<string[]>;
}

/** Values strictly between empty and full, for bars whose label starts with `prefix`. */
function partial(seen: string[], prefix: string): string[] {
  return seen.filter((s) => {
    if (!s.startsWith(prefix)) return false;
    const [value, max] = (s.split('=')[1] ?? '').split('/').map(Number);
    return (value ?? 0) > 0 && (value ?? 0) < (max ?? 0);
  });
}

/** Draws a picture on a canvas in the page and returns it as a PNG File, in the page. */
const makePng = (name: string, label: string) => `(async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 480;
  canvas.height = 270;
  const g = canvas.getContext('2d');
  const grad = g.createLinearGradient(0, 0, 480, 270);
  grad.addColorStop(0, '#3b5bdb');
  grad.addColorStop(1, '#12b886');
  g.fillStyle = grad;
  g.fillRect(0, 0, 480, 270);
  g.fillStyle = 'rgba(255,255,255,0.9)';
  g.beginPath();
  g.arc(360, 80, 40, 0, Math.PI * 2);
  g.fill();
  g.font = 'bold 30px sans-serif';
  g.fillText(${JSON.stringify(label)}, 30, 230);
  const blob = await new Promise((r) => canvas.toBlob(r, 'image/png'));
  return new File([blob], ${JSON.stringify(name)}, { type: 'image/png' });
})()`;

const fileRow = (p: Page, name: string) =>
  region(p, 'Chat').locator(`.file[data-file-name="${name}"]`);

async function waitComplete(i: number, name: string): Promise<void> {
  await eventually(
    `${NICKS[i]} has ${name} complete`,
    async () =>
      expect(await fileRow(page(i), name).getAttribute('data-file-state')).toBe('complete'),
    60_000,
  );
}

describe('encrypted files through the UI', { timeout: 180_000 }, () => {
  it('three users join one room', async () => {
    for (const [i, nick] of NICKS.slice(0, 3).entries()) {
      await onboard(page(i), nick);
      await fillJoinForm(page(i), suite.relay.url, ROOM, nick);
    }
    await button(page(0), 'Join').click();
    await eventually('alice is a member', async () =>
      expect(await memberStates(page(0))).toEqual({ alice: 'member' }),
    );
    await Promise.all([1, 2].map((i) => button(page(i), 'Join').click()));
    for (const i of [0, 1, 2]) {
      await eventually(
        `${NICKS[i]} sees three members`,
        async () =>
          expect(await memberStates(page(i))).toEqual({
            alice: 'member',
            bob: 'member',
            carol: 'member',
          }),
        60_000,
      );
      const rooms = await view(i).call('listRooms', null);
      roomIds[i] = rooms.find((r) => r.room === ROOM)?.id as string;
      await recordBars(page(i));
    }
  });

  it('sends a 5 MB file by the attach button, with progress on every side', async () => {
    const bytes = randomBytes(BIG);
    const started = Date.now();
    const [chooser] = await Promise.all([
      page(0).waitForEvent('filechooser'),
      button(page(0), 'Attach files').click(),
    ]);
    await chooser.setFiles({
      name: 'survey-data.bin',
      mimeType: 'application/octet-stream',
      buffer: bytes,
    });
    await page(0).locator('[data-upload="survey-data.bin"]').waitFor({ state: 'detached' });
    const handedOver = Date.now();
    for (const i of [0, 1, 2]) await waitComplete(i, 'survey-data.bin');
    console.log(
      `5 MB through the UI: in the runtime after ${((handedOver - started) / 1000).toFixed(1)} s, ` +
        `complete at all three after ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const seen = await Promise.all([0, 1, 2].map((i) => bars(page(i))));
    expect(partial(seen[0] ?? [], 'Preparing survey-data.bin').length).toBeGreaterThan(0);
    expect(partial(seen[0] ?? [], 'Sending survey-data.bin').length).toBeGreaterThan(0);
    expect(partial(seen[1] ?? [], 'Receiving survey-data.bin').length).toBeGreaterThan(0);
    expect(partial(seen[2] ?? [], 'Receiving survey-data.bin').length).toBeGreaterThan(0);

    // What bob's runtime stored is the file, byte for byte, and the message says complete.
    const history = await view(1).call('history', { roomId: roomIds[1] as string });
    const file = history.find((m) => m.file?.name === 'survey-data.bin')?.file;
    expect(file).toMatchObject({ size: BIG, state: 'complete' });
    const first = await view(1).call('readFile', {
      roomId: roomIds[1] as string,
      fileId: file?.id as string,
      offset: 0,
    });
    expect(Buffer.from(first.data, 'base64').equals(bytes.subarray(0, 512 * 1024))).toBe(true);
    expect(await fileRow(page(2), 'survey-data.bin').innerText()).toContain('5 MB');
  });

  it('sends an image by drag and drop; it shows inline from a blob: URL', async () => {
    await page(1).evaluate(`(async () => {
      const file = await ${makePng('whiteboard.png', 'Whiteboard, Tuesday')};
      const dt = new DataTransfer();
      dt.items.add(file);
      const target = document.querySelector('[aria-label="Conversation"]');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    })()`);
    for (const i of [0, 1, 2]) {
      await waitComplete(i, 'whiteboard.png');
      const img = fileRow(page(i), 'whiteboard.png').locator('img.preview');
      await img.waitFor();
      expect(await img.getAttribute('src')).toMatch(/^blob:http:\/\/127\.0\.0\.1:\d+\//);
      await eventually('the image decodes', async () =>
        expect(
          await img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth),
        ).toBe(480),
      );
    }
  });

  it('sends a pasted image', async () => {
    await page(2).evaluate(`(async () => {
      const file = await ${makePng('image.png', 'pasted')};
      const dt = new DataTransfer();
      dt.items.add(file);
      const box = document.querySelector('textarea[aria-label="Message"]');
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    })()`);
    for (const i of [0, 1, 2]) await waitComplete(i, 'image.png');
    await fileRow(page(0), 'survey-data.bin').scrollIntoViewIfNeeded();
    await shot(page(0), SUITE, '01-file-and-image', 'files');
  });

  it('a user who joins later sees none of the earlier files and cannot read them', async () => {
    await onboard(page(3), 'dave');
    await fillJoinForm(page(3), suite.relay.url, ROOM, 'dave');
    await button(page(3), 'Join').click();
    await eventually(
      'dave is a member',
      async () => expect((await memberStates(page(3)))['dave']).toBe('member'),
      60_000,
    );
    roomIds[3] = (await view(3).call('listRooms', null)).find((r) => r.room === ROOM)?.id as string;
    expect(await region(page(3), 'Chat').locator('.file').count()).toBe(0);
    const history = await view(3).call('history', { roomId: roomIds[3] as string });
    expect(history.filter((m) => m.file)).toEqual([]);
    const bobs = await view(1).call('history', { roomId: roomIds[1] as string });
    for (const m of bobs.filter((x) => x.file)) {
      await expect(
        view(3).call('readFile', {
          roomId: roomIds[3] as string,
          fileId: m.file?.id as string,
          offset: 0,
        }),
      ).rejects.toThrow(/BAD_ARGUMENT no complete file/);
    }
  });

  it('refuses a 30 MB file in the composer with a message', async () => {
    const [chooser] = await Promise.all([
      page(0).waitForEvent('filechooser'),
      button(page(0), 'Attach files').click(),
    ]);
    await chooser.setFiles({
      name: 'disk-image.iso',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(30 * 1024 * 1024),
    });
    const alert = page(0).locator('[data-upload="disk-image.iso"] [role="alert"]');
    await alert.waitFor();
    expect(await alert.innerText()).toBe('disk-image.iso is 30 MB; files are limited to 25 MB');
    await shot(page(0), SUITE, '02-too-large');
    // Nothing was announced to the others.
    const history = await view(1).call('history', { roomId: roomIds[1] as string });
    expect(history.some((m) => m.file?.name === 'disk-image.iso')).toBe(false);
    for (const p of pages) expect(pageProblems(p)).toEqual([]);
  });
});
