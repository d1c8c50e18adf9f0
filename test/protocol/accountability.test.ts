// Issue 11: what one misbehaving participant (member, joiner or relay) can do, and the rules of
// docs/PROTOCOL.md "Accountability" that bound it. Every test asserts who ends up in the room,
// who was blamed, and how long it took in simulated time.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src-main/protocol/events';
import type { SimClient, SimRelay } from '../../src-main/sim/relay';
import { asNick } from '../../src-main/protocol/types';
import { encodeFrame } from '../../src-main/protocol/codec';
import { adversaryTamper, complaintInstead, flip, vetoInstead } from '../../src-main/sim/adversary';
import { assertConverged, buildRoom, messagesOf, ready } from '../../src-main/sim/relay';

beforeAll(ready);

// The simulator's timers (src-main/sim/relay.ts): limbo timeout 5 s, stall 2 s, join retry 4 s.
const LIMBO = 5_000;
const STALL = 2_000;
/** The bound of docs/PROTOCOL.md "Accountability": limbo + stall + a few relay round trips. */
const BOUND = LIMBO + STALL;

const room = buildRoom;

type Blame = Extract<AppEvent, { type: 'blame' }>;
const blames = (c: SimClient): Blame[] => c.events.filter((e): e is Blame => e.type === 'blame');
const blamedBy = (relay: SimRelay, name: string): string[] =>
  [...new Set(blames(relay.client(name)).map((b) => `${b.nick}:${b.cause}`))].sort();

/** Advance until `done` holds (checked after every settle slice); returns the time it took. */
function until(relay: SimRelay, done: () => boolean, maxMs = 120_000): number {
  const start = relay.clock;
  while (!done() && relay.clock - start < maxMs) relay.settle(250);
  relay.drain();
  return relay.clock - start;
}

const memberOf = (relay: SimRelay, name: string) => relay.client(name).engine.isMember;

/** A malicious member's tamper: flip one bit of z in the chosen contribution type. */
function flipShare(c: SimClient, type: number): (data: Uint8Array) => Uint8Array | null {
  return (data) => (data[1] !== type ? data : flip(c, data, 'z'));
}

describe('finding 1: a false veto, repeated, no longer keeps a joiner out', () => {
  it("carol answers dave's join sessions with vetoes; carol is blamed and removed, dave gets in", () => {
    const relay = room(['alice', 'bob', 'carol'], 'false-veto');
    const carol = relay.client('carol');
    let vetoes = 0;
    carol.tamper = (data) => {
      if (data[1] !== 2) return data; // her PARTICIPANTS_INFO becomes a veto naming the joiner
      vetoes++;
      return vetoInstead(carol, data);
    };
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(vetoes).toBeGreaterThan(0);
    assertConverged(relay, ['alice', 'bob', 'dave']);
    expect(took).toBeLessThanOrEqual(BOUND);
    for (const name of ['alice', 'bob', 'dave']) {
      expect(blamedBy(relay, name)).toEqual(['carol:false-veto']);
    }
    expect(blames(relay.client('alice'))[0]?.message).toBe(
      "carol vetoed dave, but dave's token was correct; carol was removed",
    );
  });

  it('a veto of a joiner whose tokens were correct, after they arrived, is judged by the revealed keys', () => {
    const relay = room(['alice', 'bob', 'carol'], 'late-veto');
    const carol = relay.client('carol');
    let sent = false;
    // Carol contributes honestly, then vetoes once dave's JOINER_AUTH is in.
    carol.tamper = (data) => {
      if (data[1] !== 5 || sent) return data; // her confirmation becomes a veto
      sent = true;
      return vetoInstead(carol, data, 'dave');
    };
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(sent).toBe(true);
    assertConverged(relay, ['alice', 'bob', 'dave']);
    expect(took).toBeLessThanOrEqual(BOUND);
    const rounds = relay.client('alice').events.filter((e) => e.type === 'blame-round');
    expect(rounds).toHaveLength(1);
    expect(rounds[0]).toMatchObject({ cause: 'veto', need: ['carol', 'dave'] });
    expect(blamedBy(relay, 'alice')).toEqual(['carol:false-veto']);
    expect(blamedBy(relay, 'dave')).toEqual(['carol:false-veto']);
  });
});

describe('finding 2: a well-signed wrong share is traced to its sender', () => {
  it('in a join session: carol is blamed from the revealed keys and removed; dave joins', () => {
    const relay = room(['alice', 'bob', 'carol'], 'bad-share-join');
    const carol = relay.client('carol');
    carol.tamper = flipShare(carol, 2);
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    assertConverged(relay, ['alice', 'bob', 'dave']);
    expect(took).toBeLessThanOrEqual(BOUND);
    for (const name of ['alice', 'bob', 'dave']) {
      expect(blamedBy(relay, name)).toEqual(['carol:wrong-share']);
    }
    // The same verdict at the same ordered event, everywhere (dave follows the room).
    const at = ['alice', 'bob', 'dave'].map((n) => blames(relay.client(n)).map((b) => b.seq));
    expect(new Set(at.map((x) => x.join())).size).toBe(1);
    expect(blames(relay.client('bob'))[0]?.message).toBe(
      "carol's key contribution did not match; carol was removed",
    );
  });

  it('in a leave session: the leave completes, and the leaver cannot read what bob sends meanwhile', () => {
    const relay = room(['alice', 'bob', 'carol', 'dave'], 'bad-share-leave');
    const carol = relay.client('carol');
    carol.tamper = flipShare(carol, 4); // GROUP_SHARE
    relay.command('dave', { kind: 'leave', at: relay.clock });
    const bob = relay.client('bob');
    while (!bob.engine.pending.leavers.includes(asNick('dave'))) relay.stepSome(1);
    relay.command('bob', { kind: 'send-chat', text: 'after dave left', at: relay.clock, id: 'm1' });
    const held = relay.client('bob').events.find((e) => e.type === 'chat-held');
    expect(held).toMatchObject({ id: 'm1', reason: expect.stringContaining('re-key') });
    const took = until(
      relay,
      () =>
        relay.client('alice').engine.current?.members.join() === 'alice,bob' &&
        messagesOf(relay.client('alice')).some((m) => m.text === 'after dave left'),
    );
    expect(took).toBeLessThanOrEqual(BOUND);
    assertConverged(relay, ['alice', 'bob']);
    expect(blamedBy(relay, 'alice')).toEqual(['carol:wrong-share']);
    expect(blamedBy(relay, 'bob')).toEqual(['carol:wrong-share']);
    // The held chat went out under the session without dave (and without carol).
    const released = relay.client('bob').events.find((e) => e.type === 'chat-released');
    expect(released).toMatchObject({ id: 'm1', sid: relay.client('bob').engine.current?.sid });
    expect(messagesOf(relay.client('dave')).map((m) => m.text)).not.toContain('after dave left');
    expect(messagesOf(relay.client('carol')).map((m) => m.text)).not.toContain('after dave left');
  });

  it('in a rekey session: carol is blamed and the rekey completes without her', () => {
    const relay = room(['alice', 'bob', 'carol'], 'bad-share-rekey');
    const before = relay.client('alice').engine.current!.sid;
    const carol = relay.client('carol');
    carol.tamper = flipShare(carol, 4);
    relay.command('alice', { kind: 'rekey', at: relay.clock });
    const took = until(
      relay,
      () => relay.client('alice').engine.current?.members.join() === 'alice,bob',
    );
    expect(took).toBeLessThanOrEqual(BOUND);
    const after = assertConverged(relay, ['alice', 'bob']);
    expect(after).not.toBe(before);
    expect(blamedBy(relay, 'alice')).toEqual(['carol:wrong-share']);
  });

  it("a joiner's own wrong share is traced to the joiner, which is turned away and then refused", () => {
    const relay = room(['alice', 'bob', 'carol'], 'bad-share-joiner');
    const mallory = relay.join('mallory');
    mallory.tamper = flipShare(mallory, 3); // JOINER_AUTH
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(took).toBeLessThanOrEqual(BOUND);
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob', 'carol', 'dave']);
    expect(blamedBy(relay, 'alice')).toEqual(['mallory:wrong-share']);
    expect(blames(relay.client('alice'))[0]?.message).toContain('mallory was turned away');
    // Her later requests are refused by everyone alike.
    const refused = relay
      .client('bob')
      .events.filter((e) => e.type === 'log' && e.outcome === 'ignored: blamed in this room');
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe('confirmation misbehaviour', () => {
  it('a bad confirmation value: the odd one is removed by the others and nothing is sent to it', () => {
    const relay = room(['alice', 'bob', 'carol'], 'bad-conf');
    const carol = relay.client('carol');
    carol.tamper = (data) => (data[1] !== 5 ? data : flip(carol, data, 'conf'));
    relay.join('dave');
    const took = until(
      relay,
      () => relay.client('alice').engine.current?.members.join() === 'alice,bob,dave',
    );
    expect(took).toBeLessThanOrEqual(BOUND);
    assertConverged(relay, ['alice', 'bob', 'dave']);
    expect(blamedBy(relay, 'alice')).toEqual(['carol:reported-by-majority']);
    expect(blamedBy(relay, 'dave')).toEqual(['carol:reported-by-majority']);
  });

  it('a member that contributes and then never confirms is removed after the limbo timeout', () => {
    const relay = room(['alice', 'bob', 'carol'], 'no-confirm');
    const carol = relay.client('carol');
    carol.tamper = (data) => (data[1] === 5 ? null : data);
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(took).toBeGreaterThanOrEqual(LIMBO);
    expect(took).toBeLessThanOrEqual(BOUND);
    assertConverged(relay, ['alice', 'bob', 'dave']);
    expect(blamedBy(relay, 'alice')).toEqual(['carol:reported-by-majority']);
  });
});

describe('a joiner that lies to a minority', () => {
  it('is blamed from the revealed keys; the member it lied to is not', () => {
    const relay = room(['alice', 'bob', 'carol'], 'liar-joiner');
    const mallory = relay.join('mallory');
    // A wrong token for carol alone (participants sorted: alice, bob, carol, mallory).
    mallory.tamper = adversaryTamper('liar-joiner', mallory);
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(took).toBeLessThanOrEqual(BOUND);
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob', 'carol', 'dave']);
    // dave arrived with mallory, so the two were one batch (rule B1a): he followed the blame
    // round from its start, stayed pending through it, and saw the same verdict.
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      expect(blamedBy(relay, name)).toEqual(['mallory:bad-joiner-token']);
    }
  });
});

describe('a member that lies to the joiner', () => {
  it('the joiner complains; the revealed keys convict the member, the joiner gets in', () => {
    const relay = room(['alice', 'bob', 'carol'], 'liar-member');
    relay.client('carol').tamper = adversaryTamper('liar-member', relay.client('carol'));
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(took).toBeLessThanOrEqual(BOUND);
    assertConverged(relay, ['alice', 'bob', 'dave']);
    for (const name of ['alice', 'bob', 'dave']) {
      expect(blamedBy(relay, name)).toEqual(['carol:bad-member-token']);
    }
    const rounds = relay.client('alice').events.filter((e) => e.type === 'blame-round');
    expect(rounds[0]).toMatchObject({ cause: 'complaint', need: ['dave', 'carol'] });
  });

  it('a joiner that complains falsely is turned away; the member stays', () => {
    const relay = room(['alice', 'bob', 'carol'], 'false-complaint');
    const mallory = relay.join('mallory');
    let sent = false;
    mallory.tamper = (data) => {
      if (data[1] !== 3 || sent) return data;
      sent = true;
      return complaintInstead(mallory, data, 'carol');
    };
    relay.join('dave');
    const took = until(relay, () => memberOf(relay, 'dave'));
    expect(sent).toBe(true);
    expect(took).toBeLessThanOrEqual(BOUND);
    relay.settle(20_000);
    assertConverged(relay, ['alice', 'bob', 'carol', 'dave']);
    expect(blamedBy(relay, 'alice')).toEqual(['mallory:false-complaint']);
    expect(blamedBy(relay, 'carol')).toEqual(['mallory:false-complaint']);
  });
});

describe('finding 4: a relay that withholds one frame from one client', () => {
  for (const type of [5, 6, 2]) {
    it(`a withheld frame (type ${type}) is noticed as a gap, resumed over, never skipped`, () => {
      const relay = room(['alice', 'bob', 'carol'], `drop-${type}`);
      relay.say('alice', 'before');
      relay.drain();
      relay.join('dave');
      relay.say('carol', 'during');
      // Withhold from bob the first frame of this type still to come.
      const bob = relay.client('bob');
      relay.stepSome(0);
      let target = -1;
      const watch = () => {
        const e = relay.log.find(
          (x) => x.seq > bob.cursor + 1 && x.kind === 'message' && x.data[1] === type,
        );
        if (e && target < 0) {
          target = e.seq;
          bob.drop.add(e.seq);
        }
      };
      for (let i = 0; i < 200 && target < 0; i++) {
        watch();
        relay.stepSome(1);
      }
      expect(target).toBeGreaterThan(0);
      const took = until(relay, () => memberOf(relay, 'dave'));
      expect(took).toBeLessThanOrEqual(BOUND);
      relay.say('dave', 'after');
      relay.settle(1_000);
      assertConverged(relay, ['alice', 'bob', 'carol', 'dave']);
      expect(bob.gaps).toContain(target);
      expect(
        bob.events.some(
          (e) => e.type === 'warning' && e.code === 'seq-gap' && e.seq === target + 1,
        ),
      ).toBe(true);
      expect(messagesOf(bob).map((m) => m.text)).toEqual(['before', 'during', 'after']);
      expect(blamedBy(relay, 'alice')).toEqual([]);
    });
  }
});

describe('finding 4: a relay that hides a frame from one client and renumbers the rest', () => {
  // A CHAT is also covered by the chat transcript; a frame everyone drops (here a LEAVE signed
  // with a wrong key) or a presence event only by the history chain of rule 8.
  for (const what of ['chat', 'dropped-frame', 'presence'] as const) {
    it(`a hidden ${what}: the next session change exposes the different view; nothing is sent to it; it is removed`, () => {
      const relay = room(['alice', 'bob', 'carol', 'dave'], `hidden-${what}`);
      const carol = relay.client('carol');
      if (what === 'chat') relay.say('bob', 'seen by all but carol');
      else if (what === 'presence') {
        relay.join('zed', { silent: true });
      } else {
        const bob = relay.client('bob');
        const sid = bob.engine.current!.sidBytes;
        relay.inject(
          'bob',
          encodeFrame(bob.crypto, 'LEAVE', sid, { index: 1 }, bob.crypto.signKeyPair().secretKey),
        );
      }
      const hidden = relay.log[relay.log.length - 1]!.seq;
      carol.hide.add(hidden);
      relay.drain();
      expect(carol.gaps).toEqual([]); // renumbered: no gap to notice
      relay.join('erin');
      const alice = relay.client('alice');
      // Step until the join session with carol in it is current for alice.
      for (let i = 0; i < 500 && !alice.engine.current?.members.includes(asNick('erin')); i++) {
        relay.stepSome(1);
      }
      expect(
        alice.events.some(
          (e) => e.type === 'warning' && e.code === 'key-mismatch' && e.message.startsWith('carol'),
        ),
      ).toBe(true);
      relay.command('alice', {
        kind: 'send-chat',
        text: 'not for a split view',
        at: relay.clock,
        id: 'x',
      });
      // Either the accusations removed carol before the join session won (then nothing waits),
      // or it won with carol in it, and then nothing is encrypted to it: the message waits.
      if (alice.engine.current?.members.includes(asNick('carol'))) {
        expect(alice.events.find((e) => e.type === 'chat-held')).toMatchObject({
          id: 'x',
          reason: expect.stringContaining('carol saw a different room'),
        });
      }
      const took = until(
        relay,
        () => alice.engine.current?.members.join() === 'alice,bob,dave,erin',
      );
      expect(took).toBeLessThanOrEqual(BOUND);
      relay.settle(2_000);
      expect(alice.engine.current?.members).toEqual(['alice', 'bob', 'dave', 'erin']);
      expect(blamedBy(relay, 'bob')).toEqual(['carol:reported-by-majority']);
      // The held message went out only without carol, and carol never read it. (In which
      // session: with erin, or first without her, depends on timing: with a hidden presence the
      // others hold erin's session for the arriving zed, rule B1a, and carol does not.)
      expect(messagesOf(relay.client('bob')).map((m) => m.text)).toContain('not for a split view');
      expect(messagesOf(carol).map((m) => m.text)).not.toContain('not for a split view');
    });
  }
});

describe('two misbehaving members out of seven', () => {
  it('a false vetoer and a wrong share: both are blamed, the joiner gets in', () => {
    const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'];
    const relay = room(names, 'two-of-seven');
    const carol = relay.client('carol');
    carol.tamper = (data) => (data[1] !== 2 ? data : vetoInstead(carol, data));
    const erin = relay.client('erin');
    erin.tamper = flipShare(erin, 2);
    relay.join('hank');
    const took = until(relay, () => memberOf(relay, 'hank'));
    expect(took).toBeLessThanOrEqual(2 * BOUND);
    const honest = ['alice', 'bob', 'dave', 'frank', 'gina', 'hank'];
    assertConverged(relay, honest);
    for (const name of honest) {
      expect(blamedBy(relay, name)).toEqual(['carol:false-veto', 'erin:wrong-share']);
    }
  });
});

describe('finding 3: a restored engine says where it stands', () => {
  it('announces every live session with restored: true and its join phase', () => {
    const relay = room(['alice', 'bob'], 'restored');
    const bob = relay.client('bob');
    const before = bob.events.length;
    relay.restart('bob');
    const after = bob.events.slice(before);
    const sid = bob.engine.current!.sid;
    expect(after).toContainEqual(
      expect.objectContaining({ type: 'session', sid, status: 'current', restored: true }),
    );
    expect(after).toContainEqual(
      expect.objectContaining({ type: 'join-phase', phase: 'member', detail: 'restored' }),
    );
  });
});
