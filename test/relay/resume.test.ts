// Drops, resumes, grace expiry and explicit leave.
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RelayOptionsInput, type RunningRelay } from '../../src-main/relay/index';
import { TestClient, fingerprint, ok, sleep } from './helpers';

let relay: RunningRelay | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
});

async function start(options: RelayOptionsInput = {}): Promise<string> {
  relay = await startRelay({ limits: { eventsPerSecond: 10_000, burst: 10_000 }, ...options });
  return relay.url;
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  clients.push(c);
  return c;
}

const room = 'r';

describe('resume', () => {
  it('a dropped connection resumes with no loss, no duplicate and no `left`', async () => {
    const url = await start({ graceMs: 5_000 });
    const [alice, bob] = [await client(url), await client(url)];
    const token = ok(await alice.join({ room, nick: 'alice' })).resumeToken;
    ok(await bob.join({ room, nick: 'bob' }));
    for (let k = 0; k < 5; k++) ok(await bob.send(room, `before${k}`));
    await alice.untilSeq(room, 7);
    const since = alice.of(room).at(-1)?.seq ?? 0;

    alice.drop();
    // Bob keeps talking while Alice is away and while she resumes.
    const talking = (async () => {
      for (let k = 0; k < 60; k++) {
        ok(await bob.send(room, `during${k}`));
        if (k % 10 === 0) await sleep(5);
      }
    })();
    await sleep(30);
    const back = await client(url);
    const reply = ok(await back.join({ room, nick: 'alice', since, resumeToken: token }));
    expect(reply).toMatchObject({ resumed: true, resumeToken: token, members: ['bob'] });
    await talking;
    const last = ok(await bob.send(room, 'after')).seq;
    await back.untilSeq(room, last);

    const resumed = back.of(room);
    expect(resumed[0]?.seq).toBe(since + 1);
    const full = fingerprint(bob.of(room));
    const bobFirst = bob.of(room)[0]?.seq ?? 0;
    expect(fingerprint(resumed)).toEqual(full.slice(since + 1 - bobFirst));
    expect(bob.of(room).some((e) => e.type === 'left')).toBe(false);
    // The resumed connection speaks for alice again.
    expect(ok(await back.send(room, 'hi')).seq).toBe(last + 1);
  });

  it('a resume takes the nick over from a connection the relay still thinks is alive', async () => {
    const url = await start();
    const [old, watcher] = [await client(url), await client(url)];
    const token = ok(await old.join({ room, nick: 'alice' })).resumeToken;
    const joined = ok(await watcher.join({ room, nick: 'w' })).seq;
    const fresh = await client(url);
    ok(await fresh.join({ room, nick: 'alice', since: joined, resumeToken: token }));
    expect(await old.send(room, 'stale')).toMatchObject({
      ok: false,
      error: { code: 'NOT_IN_ROOM' },
    });
    const seq = ok(await fresh.send(room, 'fresh')).seq;
    await watcher.untilSeq(room, seq);
    expect(watcher.of(room).map((e) => e.type)).toEqual(['joined', 'message']);
  });

  it('a drop longer than the grace period yields `left`, and the nick comes free', async () => {
    const url = await start({ graceMs: 300 });
    const [alice, bob] = [await client(url), await client(url)];
    const token = ok(await alice.join({ room, nick: 'alice' })).resumeToken;
    ok(await bob.join({ room, nick: 'bob' }));
    const dropped = Date.now();
    alice.drop();
    await bob.until(() => bob.of(room).some((e) => e.type === 'left'), 3_000, 'left');
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(250);
    expect(bob.of(room).at(-1)).toMatchObject({ type: 'left', nick: 'alice', seq: 3 });

    const late = await client(url);
    const resumed = await late.join({ room, nick: 'alice', since: 2, resumeToken: token });
    expect(resumed).toMatchObject({ ok: false, error: { code: 'GAP_UNAVAILABLE' } });
    expect(ok(await late.join({ room, nick: 'alice' })).members).toEqual(['bob']);
  });

  it('an explicit leave emits `left` at once', async () => {
    const url = await start({ graceMs: 60_000 });
    const [alice, bob] = [await client(url), await client(url)];
    ok(await alice.join({ room, nick: 'alice' }));
    ok(await bob.join({ room, nick: 'bob' }));
    const seq = ok(await alice.leave(room)).seq;
    await bob.untilSeq(room, seq, 1_000);
    expect(bob.of(room).at(-1)).toMatchObject({ type: 'left', nick: 'alice', seq });
    expect(await alice.send(room, 'x')).toMatchObject({
      ok: false,
      error: { code: 'NOT_IN_ROOM' },
    });
  });

  it('refuses a resume with the wrong token, or from before what the room retains', async () => {
    const url = await start({ retention: { count: 5 } });
    const [alice, bob] = [await client(url), await client(url)];
    const token = ok(await alice.join({ room, nick: 'alice' })).resumeToken;
    ok(await bob.join({ room, nick: 'bob' }));
    alice.drop();
    for (let k = 0; k < 10; k++) ok(await bob.send(room, `m${k}`));
    const back = await client(url);
    const wrong = await back.join({ room, nick: 'alice', since: 1, resumeToken: 'guess' });
    expect(wrong).toMatchObject({ ok: false, error: { code: 'NICK_TAKEN' } });
    const gap = await back.join({ room, nick: 'alice', since: 1, resumeToken: token });
    expect(gap).toMatchObject({ ok: false, error: { code: 'GAP_UNAVAILABLE' } });
    const ahead = await back.join({ room, nick: 'alice', since: 99, resumeToken: token });
    expect(ahead).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    // The oldest retained event is 8 (12 appended, 5 kept): since 7 still works.
    const fine = ok(await back.join({ room, nick: 'alice', since: 7, resumeToken: token }));
    expect(fine.seq).toBe(12);
    await back.untilSeq(room, 12);
    expect(back.of(room).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
  });
});
