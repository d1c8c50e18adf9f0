// Batch admission (docs/PROTOCOL.md "Batch admission"): every joiner who answers is admitted in
// one session, with one-joiner sessions as the fallback. Each scenario asserts the final sids,
// members and statuses, and who could read what.
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBody, MessageType, parseFrame } from '../../src-main/protocol/codec';
import { ARRIVAL_WINDOW_MS, GATHER_HOLD_MS } from '../../src-main/protocol/room-state';
import { decodePublicState } from '../../src-main/protocol/state-transfer';
import type { AppEvent } from '../../src-main/protocol/events';
import type { SimClient, SimRelay } from '../../src-main/sim/relay';
import { assertConverged, buildRoom, messagesOf, ready, resign } from '../../src-main/sim/relay';
import { toHex } from '../../src-main/protocol/types';

beforeAll(ready);

type SessionEvent = Extract<AppEvent, { type: 'session' }>;

function sessionEvents(c: SimClient): SessionEvent[] {
  return c.events.filter((e): e is SessionEvent => e.type === 'session');
}

/** Sessions that became current in `c`'s view since event index `from`. */
function rounds(c: SimClient, from: number): SessionEvent[] {
  return c.events
    .slice(from)
    .filter((e): e is SessionEvent => e.type === 'session' && e.status === 'current');
}

/** Step single deliveries until `done` holds (bounded), to stop a run in the middle. */
function stepUntil(relay: SimRelay, done: () => boolean, max = 20_000): void {
  for (let i = 0; i < max && !done(); i++) relay.stepSome(1);
  expect(done()).toBe(true);
}

function liveBatch(c: SimClient) {
  return [...c.engine.sessions.values()].find(
    (s) => s.kind === 'batch' && s.status === 'in-limbo' && s.parent === c.engine.current?.sid,
  );
}

/**
 * The joiners' requests all ordered before any member answers (the members read nothing
 * meanwhile): the burst a batch is for, independent of the relay's interleaving.
 */
function burst(relay: SimRelay, members: string[], joiners: string[]): void {
  const held = members.map((m) => relay.client(m));
  for (const c of held) c.connected = false;
  for (const j of joiners) relay.join(j);
  relay.drain();
  for (const c of held) c.connected = true;
}

/** Every client holds the same status for every session built on `parent` that both know. */
function expectSameStatuses(relay: SimRelay, names: string[], parent: string | undefined): void {
  const [first, ...rest] = names.map((n) => relay.client(n).engine.sessions);
  for (const other of rest) {
    for (const [sid, s] of other) {
      const mine = first?.get(sid);
      if (s.parent !== parent) continue;
      if (mine) expect([sid, s.status]).toEqual([sid, mine.status]);
    }
  }
}

describe('batch admission: simultaneous joiners in one round', () => {
  for (const k of [2, 5, 10]) {
    it(`admits ${k} simultaneous joiners in one batch session`, () => {
      const members = ['alice', 'bob', 'carol'];
      const relay = buildRoom(members, `batch-${k}`);
      relay.say('alice', 'before the batch');
      relay.settle();
      const alice = relay.client('alice');
      const mark = alice.events.length;
      const parent = alice.engine.current?.sid;
      const joiners = Array.from({ length: k }, (_, i) => `j${i}`);
      burst(relay, members, joiners);
      relay.drain(); // no timer fires: nothing stalls, nothing times out
      const sid = assertConverged(relay, [...members, ...joiners]);
      // One round: the batch is the only session that became current.
      const won = rounds(alice, mark);
      expect(won.map((e) => [e.sid, e.kind])).toEqual([[sid, 'batch']]);
      expect([...(won[0]?.joiners ?? [])].sort()).toEqual([...joiners].sort());
      expect(alice.engine.current?.kind).toBe('batch');
      // Every one-joiner session on the old current died, the same way for everyone.
      const since = sessionEvents({ ...alice, events: alice.events.slice(mark) });
      const singles = new Set(
        since.filter((e) => e.kind === 'join' && e.parent === parent).map((e) => e.sid),
      );
      expect(singles.size).toBe(k);
      const last = new Map(since.map((e) => [e.sid, e.status]));
      for (const s of singles) expect([s, last.get(s)]).toEqual([s, 'dead']);
      expectSameStatuses(relay, [...members, ...joiners], parent);
      // The joiners read what is sent from now on, and nothing from before their join.
      relay.say('j0', 'hello all');
      relay.settle();
      for (const name of [...members, ...joiners]) {
        const texts = messagesOf(relay.client(name)).map((m) => m.text);
        expect(texts).toContain('hello all');
        expect(texts.includes('before the batch')).toBe(members.includes(name));
      }
    });
  }

  it('costs about one join plus O(k): each member contributes once to the batch', () => {
    const relay = buildRoom(['alice', 'bob'], 'batch-cost');
    const before = relay.log.length;
    const joiners = ['j0', 'j1', 'j2', 'j3', 'j4'];
    burst(relay, ['alice', 'bob'], joiners);
    relay.drain();
    assertConverged(relay, ['alice', 'bob', ...joiners]);
    const infos = relay.log
      .slice(before)
      .filter((e) => e.kind === 'message' && e.data[1] === MessageType.PARTICIPANTS_INFO);
    // The batch's 2 and nothing else: the members held the front joiner's session while the
    // others were still arriving (rule B1a), and the last request formed the batch. Before B1a
    // the front session's 2 went first (4 in all); one joiner after another, 2 + 3 + 4 + 5 + 6.
    expect(infos).toHaveLength(2);
    expect(
      new Set(infos.map((e) => (e.kind === 'message' ? toHex(e.data.slice(3, 35)) : ''))),
    ).toEqual(new Set([relay.client('alice').engine.current!.sid]));
    const confirmations = relay.log
      .slice(before)
      .filter((e) => e.kind === 'message' && e.data[1] === MessageType.SESSION_CONFIRMATION);
    expect(confirmations).toHaveLength(7); // the batch's 2 + 5 participants, nothing else
  });
});

describe('batch admission: fallback', () => {
  it('a silent joiner: the others get in within the stall time plus one round, it stays pending', () => {
    const relay = buildRoom(['alice', 'bob'], 'batch-silent');
    const joiners = ['j0', 'j1', 'j2', 'j3'];
    burst(relay, ['alice', 'bob'], [...joiners, 'mute']);
    const mute = relay.client('mute');
    mute.tamper = () => null; // asked to join, then never answers
    relay.drain();
    const alice = relay.client('alice');
    expect(alice.engine.isMember).toBe(true);
    expect(relay.client('j0').engine.isMember).toBe(false); // the batch waits on mute
    relay.settle(2_100); // the 2 s stall timer, then one round (no time on the fake clock)
    const sid = assertConverged(relay, ['alice', 'bob', ...joiners]);
    expect(alice.engine.current?.kind).toBe('batch');
    expect(alice.engine.pending.joiners).toEqual(['mute']);
    expect(mute.engine.isMember).toBe(false);
    const stalled = alice.events.find(
      (e) => e.type === 'log' && e.eventType === 'TIMEOUT' && e.outcome === 'accepted',
    );
    expect(stalled).toBeDefined();
    relay.say('j1', 'without mute');
    relay.settle(100);
    expect(messagesOf(relay.client('j3')).map((m) => m.text)).toContain('without mute');
    expect(messagesOf(mute)).toEqual([]);
    expect(relay.client('bob').engine.current?.sid).toBe(sid);
  });

  it('a joiner with a bad token is blamed; the others are admitted in a batch without it', () => {
    const relay = buildRoom(['alice', 'bob', 'carol'], 'batch-bad-token');
    const joiners = ['j0', 'j1', 'j2'];
    burst(relay, ['alice', 'bob', 'carol'], [...joiners, 'liar']);
    const liar = relay.client('liar');
    liar.tamper = (data) =>
      data[1] !== MessageType.JOINER_AUTH
        ? data
        : resign(liar, data, (body) => {
            for (const k of body['kcs'] as (Uint8Array | null)[])
              if (k) k[0] = (k[0] as number) ^ 1;
          });
    relay.settle(2_100);
    assertConverged(relay, ['alice', 'bob', 'carol', ...joiners]);
    const alice = relay.client('alice');
    expect(alice.engine.current?.kind).toBe('batch');
    const blame = alice.events.find((e) => e.type === 'blame');
    expect(blame).toMatchObject({ nick: 'liar', cause: 'bad-joiner-token', removed: true });
    for (const name of ['bob', 'carol', ...joiners]) {
      const b = relay.client(name).events.find((e) => e.type === 'blame');
      expect(b).toMatchObject({ nick: 'liar', cause: 'bad-joiner-token', seq: blame?.seq });
    }
    expect(liar.engine.isMember).toBe(false);
    expect(alice.engine.current?.members).not.toContain('liar');
  });

  it("a member lying to the batch's joiners is blamed on a joiner's complaint; the joiners get in", () => {
    const relay = buildRoom(['alice', 'bob', 'mallory'], 'batch-liar-member');
    const mallory = relay.client('mallory');
    mallory.tamper = (data) =>
      data[1] !== MessageType.PARTICIPANTS_INFO
        ? data
        : resign(mallory, data, (body) => {
            for (const k of (body['kcs'] ?? []) as (Uint8Array | null)[])
              if (k) k[0] = (k[0] as number) ^ 1;
          });
    const joiners = ['j0', 'j1', 'j2'];
    burst(relay, ['alice', 'bob', 'mallory'], joiners);
    relay.settle(2_100);
    assertConverged(relay, ['alice', 'bob', ...joiners]);
    for (const name of ['alice', 'bob', ...joiners]) {
      const blame = relay.client(name).events.find((e) => e.type === 'blame');
      expect([name, blame]).toMatchObject([name, { nick: 'mallory', cause: 'bad-member-token' }]);
    }
    expect(relay.client('alice').engine.current?.kind).toBe('batch');
  });

  it('a batch contribution without a token for some joiner is refused as malformed', () => {
    const relay = buildRoom(['alice', 'bob'], 'batch-missing-token');
    const bob = relay.client('bob');
    bob.tamper = (data) =>
      data[1] !== MessageType.PARTICIPANTS_INFO
        ? data
        : resign(bob, data, (body) => {
            const kcs = body['kcs'] as (Uint8Array | null)[] | undefined;
            const i = kcs?.findIndex((k) => k !== null) ?? -1;
            if (kcs && i >= 0) kcs[i] = null;
          });
    burst(relay, ['alice', 'bob'], ['j0', 'j1']);
    relay.drain();
    const outcomes = relay
      .client('alice')
      .events.flatMap((e) =>
        e.type === 'log' && e.eventType === 'PARTICIPANTS_INFO' ? [e.outcome] : [],
      );
    expect(outcomes).toContain('body-schema');
    // Nobody honest is blamed for bob's malformed frame.
    expect(relay.client('alice').events.some((e) => e.type === 'blame' && e.nick !== 'bob')).toBe(
      false,
    );
  });

  it('a joiner leaving mid-batch: the batch forms again without it, in one more round', () => {
    const relay = buildRoom(['alice', 'bob'], 'batch-joiner-leaves');
    const joiners = ['j0', 'j1', 'j2', 'j3'];
    burst(relay, ['alice', 'bob'], joiners);
    const alice = relay.client('alice');
    relay.client('j2').tamper = () => null; // it goes quiet, then its connection ends
    relay.drain();
    const first = liveBatch(alice);
    expect(first?.joiners).toContain('j2');
    expect(relay.client('j0').engine.isMember).toBe(false);
    relay.disconnect('j2');
    relay.drain();
    const rest = joiners.filter((j) => j !== 'j2');
    const sid = assertConverged(relay, ['alice', 'bob', ...rest]);
    expect(alice.engine.current?.kind).toBe('batch');
    expect(first?.status).toBe('dead');
    expect(sid).not.toBe(first?.sid);
    expect(alice.engine.pending.joiners).toEqual([]);
    relay.say('alice', 'after');
    relay.drain();
    for (const j of rest) expect(messagesOf(relay.client(j)).map((m) => m.text)).toEqual(['after']);
  });

  it('a member leaving mid-batch: the joiners get in without it, and it reads nothing after', () => {
    const relay = buildRoom(['alice', 'bob', 'carol'], 'batch-member-leaves');
    const joiners = ['j0', 'j1', 'j2'];
    burst(relay, ['alice', 'bob', 'carol'], joiners);
    const alice = relay.client('alice');
    stepUntil(relay, () => liveBatch(alice) !== undefined);
    expect(liveBatch(alice)?.members).toContain('carol');
    relay.command('carol', { kind: 'leave', at: relay.clock });
    relay.drain();
    const carol = relay.client('carol');
    const sid = assertConverged(relay, ['alice', 'bob', ...joiners]);
    expect(alice.engine.current?.members).not.toContain('carol');
    relay.say('bob', 'carol is gone');
    relay.drain();
    expect(messagesOf(carol).map((m) => m.text)).not.toContain('carol is gone');
    for (const j of joiners) {
      expect(messagesOf(relay.client(j)).map((m) => m.text)).toContain('carol is gone');
    }
    expect(relay.client('j0').engine.current?.sid).toBe(sid);
  });

  it('joiners arriving while a batch is in limbo join the next batch; the first is never rebuilt', () => {
    const relay = buildRoom(['alice', 'bob'], 'batch-arrivals');
    const first = ['j0', 'j1', 'j2'];
    burst(relay, ['alice', 'bob'], first);
    const alice = relay.client('alice');
    stepUntil(relay, () => liveBatch(alice) !== undefined);
    const batch = liveBatch(alice);
    const later = ['k0', 'k1'];
    for (const j of later) relay.join(j);
    relay.drain();
    assertConverged(relay, ['alice', 'bob', ...first, ...later]);
    const won = sessionEvents(alice).filter((e) => e.status === 'current' && e.kind === 'batch');
    expect(won.map((e) => e.sid)).toEqual([batch?.sid, alice.engine.current?.sid]);
    expect([...(won[0]?.joiners ?? [])].sort()).toEqual(first);
    expect([...(won[1]?.joiners ?? [])].sort()).toEqual(later);
    // Created once, at one event, and current under the same sid.
    const created = sessionEvents(alice).filter(
      (e) => e.sid === batch?.sid && e.reason.startsWith('batch join'),
    );
    expect(created).toHaveLength(1);
  });
});

describe('batch admission: state', () => {
  it('a member and a joiner restarted from snapshots mid-batch finish the same batch', () => {
    const relay = buildRoom(['alice', 'bob', 'carol'], 'batch-restart');
    const joiners = ['j0', 'j1', 'j2'];
    burst(relay, ['alice', 'bob', 'carol'], joiners);
    const alice = relay.client('alice');
    stepUntil(
      relay,
      () => liveBatch(alice) !== undefined && relay.client('j1').engine.pending.joiners.length > 0,
    );
    const batch = liveBatch(alice)?.sid;
    relay.restart('bob');
    relay.restart('j1');
    relay.drain();
    const sid = assertConverged(relay, ['alice', 'bob', 'carol', ...joiners]);
    expect(sid).toBe(batch);
    relay.say('j1', 'back');
    relay.drain();
    expect(messagesOf(relay.client('bob')).map((m) => m.text)).toEqual(['back']);
  });

  it('a joiner attaching through the batch sponsor sees the same batch and statuses', () => {
    const relay = buildRoom(['alice', 'bob'], 'batch-attach');
    const joiners = ['j0', 'j1', 'j2', 'j3'];
    burst(relay, ['alice', 'bob'], joiners);
    relay.drain();
    const sid = assertConverged(relay, ['alice', 'bob', ...joiners]);
    for (const j of joiners) {
      const mine = relay.client(j).engine.sessions.get(sid as never);
      expect([j, mine?.kind, mine?.joiners.length]).toEqual([j, 'batch', joiners.length]);
    }
  });
});

describe('rule B1a: members gather the clients still arriving', () => {
  /** The PARTICIPANTS_INFO frames ordered since log index `from`, parsed. */
  function infosSince(relay: SimRelay, from: number) {
    return relay.log.slice(from).flatMap((e) => {
      if (e.kind !== 'message' || e.data[1] !== MessageType.PARTICIPANTS_INFO) return [];
      const frame = parseFrame(e.data);
      if (!frame.ok) throw new Error(frame.error);
      const body = decodeBody(frame.value, 'PARTICIPANTS_INFO');
      if (!body.ok) throw new Error(body.error);
      return [{ seq: e.seq, sid: toHex(frame.value.sid!), body: body.value }];
    });
  }

  it('joiners whose relay joins come before their requests: one batch at the last request, no one-joiner wave', () => {
    const relay = buildRoom(['alice', 'bob', 'carol'], 'b1a-burst');
    const from = relay.log.length;
    const joiners = ['j0', 'j1', 'j2', 'j3'];
    // Not a burst: the members read every event as it comes, the front request included.
    for (const j of joiners) relay.join(j);
    relay.drain(); // no timer fires
    const sid = assertConverged(relay, ['alice', 'bob', 'carol', ...joiners]);
    const alice = relay.client('alice');
    expect(alice.engine.current?.kind).toBe('batch');
    // Every member contribution went to the batch: none to the front joiner's own session.
    const infos = infosSince(relay, from);
    expect(infos.map((i) => i.sid)).toEqual([sid, sid, sid]);
    // The batch formed at the last request, before any member frame.
    const requests = relay.log
      .slice(from)
      .filter((e) => e.kind === 'message' && e.data[1] === MessageType.JOIN_REQUEST);
    expect(requests).toHaveLength(joiners.length);
    const created = alice.engine.sessions.get(sid as never)?.createdSeq;
    expect(created).toBe(requests.at(-1)?.seq);
    expect(Math.min(...infos.map((i) => i.seq))).toBeGreaterThan(created ?? Infinity);
  });

  it('a client that joins the relay and never asks holds a lone joiner back by the window at most', () => {
    const relay = buildRoom(['alice', 'bob'], 'b1a-silent');
    relay.join('zed', { silent: true }); // in the relay room, never sends a request
    const from = relay.log.length;
    relay.join('dave');
    relay.drain();
    const dave = relay.client('dave');
    expect(dave.engine.isMember).toBe(false);
    expect(infosSince(relay, from)).toEqual([]); // the members hold dave's session for zed
    const t0 = relay.clock;
    relay.settle(GATHER_HOLD_MS - 1);
    expect(dave.engine.isMember).toBe(false);
    relay.settle(1); // the gather timer fires at the window's end; the round takes no fake time
    expect(dave.engine.isMember).toBe(true);
    expect(relay.clock - t0).toBe(GATHER_HOLD_MS);
    assertConverged(relay, ['alice', 'bob', 'dave']);
    // Once zed is forgotten (ARRIVAL_WINDOW_MS of relay time), a join goes at once again.
    relay.settle(ARRIVAL_WINDOW_MS);
    relay.join('erin');
    relay.drain();
    expect(relay.client('erin').engine.isMember).toBe(true);
  });

  it('the sponsor hands the joiner who is arriving, so a joiner attaching meanwhile decides alike', () => {
    const relay = buildRoom(['alice', 'bob'], 'b1a-transfer');
    relay.join('zed', { silent: true });
    const from = relay.log.length;
    relay.join('dave');
    relay.settle(GATHER_HOLD_MS); // the gather timer: the members answer dave
    const withState = infosSince(relay, from).filter((i) => i.body.state);
    expect(withState).toHaveLength(1);
    const state = decodePublicState(withState[0]!.body.state!);
    if (!state.ok) throw new Error(state.error);
    expect(state.value.arriving?.map(([nick]) => nick)).toEqual(['zed']);
    // dave decides from that state as the members do. zed still counts as arriving, so the
    // third request does not close the window and j3, asking before the members answer, is in
    // the batch; had dave not known of zed, it would have formed a batch of three at j2's request.
    const parent = relay.client('alice').engine.current?.sid;
    for (const j of ['j0', 'j1', 'j2']) relay.join(j);
    relay.drain();
    relay.join('j3');
    relay.drain();
    relay.settle(GATHER_HOLD_MS);
    const all = ['alice', 'bob', 'dave', 'j0', 'j1', 'j2', 'j3'];
    const sid = assertConverged(relay, all);
    const batch = relay.client('dave').engine.sessions.get(sid as never);
    expect([batch?.kind, [...(batch?.joiners ?? [])].sort()]).toEqual([
      'batch',
      ['j0', 'j1', 'j2', 'j3'],
    ]);
    expectSameStatuses(relay, all, parent);
  });

  it('snapshots keep who is arriving: a member restarted mid-gather still forms the batch', () => {
    const relay = buildRoom(['alice', 'bob'], 'b1a-restart');
    relay.join('j0');
    relay.join('j1');
    relay.join('j2');
    // Step until j0's request is ordered and read by bob; j1 and j2 are still arriving.
    const bob = relay.client('bob');
    stepUntil(relay, () => bob.engine.pending.joiners.includes('j0' as never));
    relay.restart('bob');
    relay.drain();
    const sid = assertConverged(relay, ['alice', 'bob', 'j0', 'j1', 'j2']);
    expect(bob.engine.current?.kind).toBe('batch');
    expect(infosSince(relay, 0).filter((i) => i.sid === sid)).toHaveLength(2);
  });

  it('members slow to answer: a joiner slow to ask still makes the batch of those who joined with it', () => {
    // The e2e batch test's shape under load: alice reads nothing for a while; chen joined the
    // relay first but asks last, brian asks 1.1 s after chen joined. With a 1 s memory of who
    // is arriving (the first version of B1a), chen was forgotten at brian's request, which then
    // formed a batch of two; chen is remembered for ARRIVAL_WINDOW_MS (5 s) now.
    const relay = buildRoom(['alice'], 'b1a-slow-asker');
    const alice = relay.client('alice');
    alice.connected = false;
    const chen = relay.join('chen');
    chen.connected = false; // in the relay room, not asking yet
    relay.settle(900);
    relay.join('ada');
    const brian = relay.join('brian');
    brian.connected = false;
    relay.drain(); // ada asks at 0.9 s
    relay.settle(200);
    brian.connected = true;
    relay.drain(); // brian asks at 1.1 s
    relay.settle(100);
    chen.connected = true;
    relay.drain(); // chen asks at 1.2 s
    const mark = alice.events.length;
    alice.connected = true;
    relay.drain();
    const sid = assertConverged(relay, ['alice', 'ada', 'brian', 'chen']);
    const won = rounds(alice, mark);
    expect(won.map((e) => [e.sid, e.kind])).toEqual([[sid, 'batch']]);
    expect([...(won[0]?.joiners ?? [])].sort()).toEqual(['ada', 'brian', 'chen']);
  });

  it('a relay join after the others asked, before any member spoke: the batch takes it (B1a batch open)', () => {
    // The browser test's race: alice is frozen; ada and brian join the relay and ask; only then
    // does chen's host reach the relay and ask. Nobody was arriving at brian's request, so the
    // batch formed there; chen's request, ordered before any member of C spoke, joins it, as it
    // would have under B1 (whose window closes at the first member frame).
    const relay = buildRoom(['alice', 'bob'], 'b1a-open');
    const alice = relay.client('alice');
    const bob = relay.client('bob');
    alice.connected = false;
    bob.connected = false;
    relay.join('ada');
    relay.join('brian');
    relay.drain(); // both ask
    relay.join('chen');
    relay.drain(); // chen asks after them
    const mark = alice.events.length;
    alice.connected = true;
    bob.connected = true;
    relay.drain();
    const sid = assertConverged(relay, ['alice', 'bob', 'ada', 'brian', 'chen']);
    const won = rounds(alice, mark);
    expect(won.map((e) => [e.sid, e.kind])).toEqual([[sid, 'batch']]);
    expect([...(won[0]?.joiners ?? [])].sort()).toEqual(['ada', 'brian', 'chen']);
    // Once a member has spoken the batch is closed: a later request waits for the next one.
    relay.join('dan');
    relay.drain();
    expect(relay.client('dan').engine.isMember).toBe(true);
    expect(rounds(alice, mark)).toHaveLength(2);
  });
});
