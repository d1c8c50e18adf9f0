// The transport promise the protocol rests on: one total order per room, seen identically by
// every member from its own `joined` on, its own messages included.
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src-main/relay/index';
import { TestClient, fingerprint, ok, type WireEvent } from './helpers';

let relay: RunningRelay | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
});

async function connect(n: number): Promise<TestClient[]> {
  if (!relay) throw new Error('relay not started');
  const url = relay.url;
  const made = await Promise.all(Array.from({ length: n }, () => TestClient.connect(url)));
  clients.push(...made);
  return made;
}

/** Members present after applying the presence events in `events`. */
function presentAfter(events: readonly WireEvent[]): string[] {
  const present = new Set<string>();
  for (const e of events) {
    if (e.type === 'joined') present.add(e.nick);
    if (e.type === 'left') present.delete(e.nick);
  }
  return [...present].sort();
}

describe('relay ordering (one node, in-memory log)', () => {
  // 0: every turn's writes leave at its end; 20: writes are coalesced for up to 20 ms under load.
  it.each([0, 20])(
    '10 clients x 200 messages at once: identical gap-free sequences incl. own (flush interval %i ms)',
    async (flushIntervalMs) => {
      relay = await startRelay({
        limits: { eventsPerSecond: 100_000, burst: 100_000 },
        flushIntervalMs,
      });
      const room = 'ordering';
      const group = await connect(10);
      const joinSeq: number[] = [];
      for (const [i, c] of group.entries()) {
        joinSeq.push(ok(await c.join({ room, nick: `n${i}` })).seq);
      }
      expect(joinSeq).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));

      const acks = await Promise.all(
        group.map((c, i) =>
          Promise.all(Array.from({ length: 200 }, (_, k) => c.send(room, `m${i}.${k}`))),
        ),
      );
      const last = 10 + 10 * 200;
      await Promise.all(group.map((c) => c.untilSeq(room, last)));

      const full = fingerprint(group[0]?.of(room) ?? []);
      expect(full).toHaveLength(last);
      for (const [i, c] of group.entries()) {
        const seen = c.of(room);
        // Starts at its own `joined`, then exactly the same events as everyone else.
        expect(seen[0]).toMatchObject({ type: 'joined', nick: `n${i}`, seq: joinSeq[i] });
        expect(fingerprint(seen)).toEqual(full.slice((joinSeq[i] ?? 0) - 1));
        // Own messages are reflected at the seq the ack promised, in the order they were sent.
        const own = seen.filter((e) => e.type === 'message' && e.nick === `n${i}`);
        expect(own.map((e) => e.data?.toString())).toEqual(
          Array.from({ length: 200 }, (_, k) => `m${i}.${k}`),
        );
        expect(own.map((e) => e.seq)).toEqual(acks[i]?.map((a) => ok(a).seq));
      }
    },
  );

  it('presence interleaves with messages identically for everyone', async () => {
    relay = await startRelay({ limits: { eventsPerSecond: 100_000, burst: 100_000 } });
    const room = 'presence';
    const [observer, chatty, ...others] = await connect(6);
    if (!observer || !chatty) throw new Error('clients missing');
    ok(await observer.join({ room, nick: 'observer' }));
    ok(await chatty.join({ room, nick: 'chatty' }));

    // Joins, messages and leaves all race each other.
    const sending = Promise.all(Array.from({ length: 150 }, (_, k) => chatty.send(room, `c${k}`)));
    const joins = await Promise.all(others.map((c, i) => c.join({ room, nick: `late${i}` })));
    const leaving = others.slice(0, 2).map((c) => c.leave(room));
    await Promise.all([sending, ...leaving]);
    const finalSeq = ok(await chatty.send(room, 'end')).seq;
    await Promise.all(
      [observer, chatty, ...others.slice(2)].map((c) => c.untilSeq(room, finalSeq)),
    );

    const all = observer.of(room);
    const full = fingerprint(all);
    for (const [i, c] of others.entries()) {
      const reply = ok(joins[i] ?? { ok: false });
      // `members` is exactly who was present just before this client's own `joined`.
      const before = all.filter((e) => e.seq < reply.seq);
      expect(reply.members).toEqual(presentAfter([...before]));
      const seen = c.of(room);
      expect(seen[0]).toMatchObject({ type: 'joined', nick: `late${i}`, seq: reply.seq });
      if (i < 2) {
        // A leaver receives up to and including its own `left`, then nothing more.
        expect(seen.at(-1)).toMatchObject({ type: 'left', nick: `late${i}` });
      }
      expect(fingerprint(seen)).toEqual(full.slice(reply.seq - 1, reply.seq - 1 + seen.length));
    }
    expect(presentAfter(all)).toEqual(['chatty', 'late2', 'late3', 'observer']);
  });
});
