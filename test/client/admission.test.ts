// Admission through the client runtime (the API the renderer uses), over a real relay: a
// runtime founds knock rooms by default; knocks are answered with answerKnock; an invite-only
// room's invite carries a one-time secret (docs/PROTOCOL.md "Admission policy").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInvite } from '../../src-shared/invite';
import type { ClientRuntime } from '../../src-main/client/runtime';
import { createClientRuntime } from '../../src-main/client/runtime';
import type { RunningRelay } from '../../src-main/relay';
import { startRelay } from '../../src-main/relay';
import { pollUntil } from './until';

type Trio = [ClientRuntime, ClientRuntime, ClientRuntime];

let relay: RunningRelay;
let dir: string;
const open: ClientRuntime[] = [];

/** A runtime with the hosts' default founding policy (no `admission` option: knock). */
async function runtime(name: string): Promise<ClientRuntime> {
  const rt = await createClientRuntime({
    dataDir: join(dir, name),
    passphrase: 'pw',
    argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 },
    defaultRelayUrl: relay.url,
    engine: { limboTimeoutMs: 3_000, joinRetryMs: 1_000 },
  });
  await rt.handlers.createIdentity(null);
  open.push(rt);
  return rt;
}

const until = <T>(check: () => T | undefined | false | Promise<T | undefined | false>) =>
  pollUntil(check, 20_000, 100);

async function state(rt: ClientRuntime, roomId: string) {
  return rt.handlers.roomState({ roomId });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-admission-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 500 });
});

afterAll(async () => {
  for (const rt of open) await rt.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('admission through the runtime', () => {
  it('a new room is knock by default; a member admits one knock and declines another', async () => {
    const [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map(runtime))) as Trio;
    const a = await alice.handlers.joinRoom({ relayUrl: relay.url, room: 'knock', nick: 'alice' });
    await until(async () => (await state(alice, a.id)).phase === 'member');
    expect((await state(alice, a.id)).admission?.policy).toBe('knock');

    const b = await bob.handlers.joinRoom({ relayUrl: relay.url, room: 'knock', nick: 'bob' });
    const knock = await until(async () =>
      (await state(alice, a.id)).admission?.knocks.find((k) => k.nick === 'bob'),
    );
    const bobId = (await bob.handlers.identity(null))!.fingerprint;
    expect(knock.fingerprint).toBe(bobId);
    await until(async () => (await state(bob, b.id)).phase === 'knocking');
    expect((await state(bob, b.id)).cannotSend).toBe('Waiting for a member to let you in.');

    await alice.handlers.answerKnock({ roomId: a.id, nick: 'bob', seq: knock.seq, admit: true });
    await until(async () => (await state(bob, b.id)).phase === 'member');

    const c = await carol.handlers.joinRoom({ relayUrl: relay.url, room: 'knock', nick: 'carol' });
    const carolKnock = await until(async () =>
      (await state(bob, b.id)).admission?.knocks.find((k) => k.nick === 'carol'),
    );
    await bob.handlers.answerKnock({
      roomId: b.id,
      nick: 'carol',
      seq: carolKnock.seq,
      admit: false,
    });
    await until(async () => (await state(carol, c.id)).phase === 'refused');
    expect((await state(carol, c.id)).cannotSend).toBe(
      'You were not let in: bob declined your request to join.',
    );
    expect((await state(alice, a.id)).admission?.knocks).toEqual([]);
    await expect(
      alice.handlers.answerKnock({ roomId: a.id, nick: 'carol', seq: carolKnock.seq, admit: true }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('invite only: the invite carries a one-time secret; a second use is refused', async () => {
    const [ann, ben, cy] = (await Promise.all(['ann', 'ben', 'cy'].map(runtime))) as Trio;
    const a = await ann.handlers.joinRoom({
      relayUrl: relay.url,
      room: 'private',
      nick: 'ann',
      admission: 'invite',
    });
    await until(async () => (await state(ann, a.id)).admission?.policy === 'invite');
    const made = await ann.handlers.createInvite({ roomId: a.id });
    expect(made.oneTime).toBe(true);
    const parsed = parseInvite(made.text);
    if (!parsed.ok) throw new Error(parsed.error);
    const secret = parsed.invite.secret as string;
    expect(secret).toHaveLength(43);
    await until(async () => (await state(ann, a.id)).admission?.invites === 1);

    const b = await ben.handlers.joinRoom({
      relayUrl: relay.url,
      room: 'private',
      nick: 'ben',
      inviteSecret: secret,
    });
    await until(async () => (await state(ben, b.id)).phase === 'member');
    const c = await cy.handlers.joinRoom({
      relayUrl: relay.url,
      room: 'private',
      nick: 'cy',
      inviteSecret: secret,
    });
    await until(async () => (await state(cy, c.id)).phase === 'refused');
    expect((await state(cy, c.id)).cannotSend).toBe(
      'You were not let in: this invitation was already used.',
    );
    // A member changes the policy back to knock: the next invite carries no secret.
    await ben.handlers.setAdmission({ roomId: b.id, policy: 'knock' });
    await until(async () => (await state(ann, a.id)).admission?.policy === 'knock');
    expect((await ann.handlers.createInvite({ roomId: a.id })).oneTime).toBe(false);
  });
});
