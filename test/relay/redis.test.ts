// Two relay nodes sharing a real redis-server: one total order per room across nodes, nick
// uniqueness across nodes, resume on the other node, and release of a dead node's nicks.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RelayOptionsInput, type RunningRelay } from '../../src-main/relay/index';
import { TestClient, fingerprint, ok, sleep, testRedis, type TestRedis } from './helpers';

const redis: TestRedis | undefined = await testRedis();
const relays: RunningRelay[] = [];
const clients: TestClient[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(relays.splice(0).map((r) => r.close()));
  if (redis) await deleteKeys(redis.url, prefixes.splice(0));
});

/** Leaves a shared (CI) Redis as it was found. */
async function deleteKeys(url: string, gone: string[]): Promise<void> {
  const cleaner = new Redis(url);
  try {
    for (const p of gone) {
      let cursor = '0';
      do {
        const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 500);
        if (keys.length) await cleaner.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    cleaner.disconnect();
  }
}

/** Two nodes on one fresh key prefix, so runs and tests never see each other's rooms. */
async function twoNodes(options: RelayOptionsInput = {}): Promise<[string, string]> {
  if (!redis) throw new Error('no redis');
  const prefix = `conclave-test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  const shared: RelayOptionsInput = {
    redisUrl: redis.url,
    redisKeyPrefix: prefix,
    redisHeartbeatMs: 250,
    graceMs: 500,
    limits: { eventsPerSecond: 100_000, burst: 100_000 },
    ...options,
  };
  const [a, b] = await Promise.all([startRelay(shared), startRelay(shared)]);
  relays.push(a, b);
  return [a.url, b.url];
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  clients.push(c);
  return c;
}

describe.skipIf(!redis)('relay across two nodes sharing Redis', () => {
  it('clients split across nodes all see one identical, gap-free order incl. own', async () => {
    const [urlA, urlB] = await twoNodes();
    const room = 'shared';
    const group = await Promise.all(
      Array.from({ length: 6 }, (_, i) => client(i % 2 ? urlB : urlA)),
    );
    const joinSeq: number[] = [];
    for (const [i, c] of group.entries())
      joinSeq.push(ok(await c.join({ room, nick: `n${i}` })).seq);
    expect(joinSeq).toEqual([1, 2, 3, 4, 5, 6]);

    const acks = await Promise.all(
      group.map((c, i) =>
        Promise.all(Array.from({ length: 100 }, (_, k) => c.send(room, `m${i}.${k}`))),
      ),
    );
    const last = 6 + 6 * 100;
    await Promise.all(group.map((c) => c.untilSeq(room, last)));

    const full = fingerprint(group[0]?.of(room) ?? []);
    expect(full).toHaveLength(last);
    for (const [i, c] of group.entries()) {
      const seen = c.of(room);
      expect(seen[0]).toMatchObject({ type: 'joined', nick: `n${i}` });
      expect(fingerprint(seen)).toEqual(full.slice((joinSeq[i] ?? 0) - 1));
      const own = seen.filter((e) => e.type === 'message' && e.nick === `n${i}`);
      expect(own.map((e) => e.seq)).toEqual(acks[i]?.map((a) => ok(a).seq));
    }
  });

  it('keeps nicks unique across nodes and reports members from every node', async () => {
    const [urlA, urlB] = await twoNodes();
    const [a, b, c] = [await client(urlA), await client(urlB), await client(urlB)];
    ok(await a.join({ room: 'r', nick: 'x' }));
    expect(await b.join({ room: 'r', nick: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'NICK_TAKEN' },
    });
    ok(await b.join({ room: 'r', nick: 'y' }));
    expect(ok(await c.join({ room: 'r', nick: 'z' })).members).toEqual(['x', 'y']);
    const health = await (await fetch(`${urlB}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', log: 'redis' });
  });

  it('a client resumes on the other node with no loss and no `left`', async () => {
    const [urlA, urlB] = await twoNodes();
    const room = 'hop';
    const [alice, bob] = [await client(urlA), await client(urlB)];
    const token = ok(await alice.join({ room, nick: 'alice' })).resumeToken;
    ok(await bob.join({ room, nick: 'bob' }));
    for (let k = 0; k < 5; k++) ok(await bob.send(room, `b${k}`));
    await alice.untilSeq(room, 7);
    const since = 7;
    alice.drop();
    const talking = Promise.all(Array.from({ length: 40 }, (_, k) => bob.send(room, `d${k}`)));
    const back = await client(urlB);
    const reply = ok(await back.join({ room, nick: 'alice', since, resumeToken: token }));
    expect(reply).toMatchObject({ resumed: true, members: ['bob'] });
    await talking;
    const last = ok(await back.send(room, 'back on B')).seq;
    await back.untilSeq(room, last);
    await bob.untilSeq(room, last);
    expect(fingerprint(back.of(room))).toEqual(fingerprint(bob.of(room)).slice(since - 1));
    // Node A's grace timer for the old connection fires and must not release the nick.
    await sleep(900);
    expect(bob.of(room).some((e) => e.type === 'left')).toBe(false);
    expect(ok(await back.send(room, 'still here')).seq).toBe(last + 1);
  });

  it('a drop past the grace period yields `left` on every node', async () => {
    const [urlA, urlB] = await twoNodes();
    const [alice, bob] = [await client(urlA), await client(urlB)];
    ok(await alice.join({ room: 'g', nick: 'alice' }));
    ok(await bob.join({ room: 'g', nick: 'bob' }));
    alice.drop();
    await bob.until(() => bob.of('g').some((e) => e.type === 'left'), 3_000, 'left');
    expect(bob.of('g').at(-1)).toMatchObject({ type: 'left', nick: 'alice', seq: 3 });
  });

  it("a node that goes away has its members released by the other node's sweep", async () => {
    const [urlA, urlB] = await twoNodes();
    const [alice, bob] = [await client(urlA), await client(urlB)];
    ok(await alice.join({ room: 's', nick: 'alice' }));
    ok(await bob.join({ room: 's', nick: 'bob' }));
    const nodeA = relays[0];
    await nodeA?.close(); // its grace timers die with it; the lease in Redis does not
    await bob.until(() => bob.of('s').some((e) => e.type === 'left'), 4_000, 'left');
    expect(bob.of('s').at(-1)).toMatchObject({ type: 'left', nick: 'alice' });
  });

  it('GAP_UNAVAILABLE when the stream no longer holds `since`', async () => {
    const [urlA, urlB] = await twoNodes({ retention: { count: 4 }, graceMs: 5_000 });
    const [alice, bob] = [await client(urlA), await client(urlB)];
    const token = ok(await alice.join({ room: 't', nick: 'alice' })).resumeToken;
    ok(await bob.join({ room: 't', nick: 'bob' }));
    alice.drop();
    for (let k = 0; k < 6; k++) ok(await bob.send('t', `m${k}`));
    const back = await client(urlB);
    expect(
      await back.join({ room: 't', nick: 'alice', since: 2, resumeToken: token }),
    ).toMatchObject({
      ok: false,
      error: { code: 'GAP_UNAVAILABLE' },
    });
    const fine = ok(await back.join({ room: 't', nick: 'alice', since: 4, resumeToken: token }));
    expect(fine.seq).toBe(8);
    await back.untilSeq('t', 8);
    expect(back.of('t').map((e) => e.seq)).toEqual([5, 6, 7, 8]);
  });
});
