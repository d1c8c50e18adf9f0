// Admission policy (docs/PROTOCOL.md "Admission policy"): open, knock and invite-only rooms,
// decided by ordered messages, with real libsodium over the in-memory ordered relay.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AdmissionPolicy } from '../../src-main/protocol/codec';
import { encodeFrame } from '../../src-main/protocol/codec';
import { fingerprint, inviteUse } from '../../src-main/protocol/derive';
import type { EngineInput } from '../../src-main/protocol/events';
import type { SimClient } from '../../src-main/sim/relay';
import { assertConverged, messagesOf, ready, resign, SimRelay } from '../../src-main/sim/relay';
import { asNick } from '../../src-main/protocol/types';

beforeAll(ready);

/** A room founded by `founder` with the given policy (the engine's founding option). */
function founded(seed: string, policy: AdmissionPolicy, founder = 'alice'): SimRelay {
  const relay = new SimRelay(seed, { admission: policy });
  relay.join(founder);
  relay.settle(20_000);
  expect(relay.client(founder).engine.isMember).toBe(true);
  return relay;
}

/** The outcome the engine logged for every ordered message from `from`. */
function outcomes(c: SimClient, relay: SimRelay, from: string, type?: string): string[] {
  const seqs = new Set(relay.log.filter((e) => e.nick === from).map((e) => e.seq as number));
  return c.events.flatMap((e) =>
    e.type === 'log' && seqs.has(e.seq) && (!type || e.eventType === type) ? [e.outcome] : [],
  );
}

function knockOf(relay: SimRelay, member: string, nick: string) {
  const k = relay.client(member).engine.admissionView.knocks.find((x) => x.nick === nick);
  if (!k) throw new Error(`${member} sees no knock from ${nick}`);
  return k;
}

function command(relay: SimRelay, name: string, input: Record<string, unknown>): void {
  relay.command(name, { ...input, at: relay.clock } as EngineInput);
}

/** Every client's view of the admission state (members and observers alike). */
function views(relay: SimRelay, names: string[]): string[] {
  return names.map((n) => JSON.stringify(relay.client(n).engine.admissionView));
}

/** The last frame of this type `nick` sent. */
function lastFrame(relay: SimRelay, nick: string, code: number): Uint8Array {
  const e = relay.log
    .filter((x) => x.kind === 'message' && x.nick === nick && x.data[1] === code)
    .at(-1);
  if (!e || e.kind !== 'message') throw new Error(`no frame ${code} from ${nick}`);
  return e.data;
}

function announceInvite(relay: SimRelay, member: string, seedByte: number, expires?: number) {
  const c = relay.client(member);
  const seed = new Uint8Array(32).fill(seedByte);
  const keys = c.crypto.signKeyPairFromSeed(seed);
  command(relay, member, {
    kind: 'announce-invite',
    key: keys.publicKey,
    ...(expires === undefined ? {} : { expires }),
  });
  relay.settle(20_000);
  return { seed, keys };
}

describe('admission: knock', () => {
  it('a knock builds no session until a member admits it; then the joiner is in', () => {
    const relay = founded('knock-admit', 'knock');
    const alice = relay.client('alice');
    expect(alice.engine.admissionView.policy).toBe('knock');
    const bob = relay.join('bob');
    relay.settle(30_000);
    // No join session: alice's only session is the genesis, bob waits and knows why.
    expect([...alice.engine.sessions.values()].map((s) => s.kind)).toEqual(['genesis']);
    expect(bob.engine.isMember).toBe(false);
    expect(bob.engine.joinPhase).toBe('knocking');
    // One knock, however often bob's client asked again, with bob's LT fingerprint.
    const requests = relay.log.filter((e) => e.nick === 'bob' && e.kind === 'message').length;
    expect(requests).toBeGreaterThan(2);
    const knock = knockOf(relay, 'alice', 'bob');
    expect(alice.engine.admissionView.knocks).toHaveLength(1);
    const bobKey = (bob.engine as unknown as { identity: { publicKey: Uint8Array } }).identity;
    expect(knock.fingerprint).toBe(fingerprint(alice.crypto, bobKey.publicKey));
    expect(
      alice.events.some((e) => e.type === 'admission' && e.change === 'bob asks to join'),
    ).toBe(true);
    // Bob never concluded that nobody is here (he would have founded a room of his own).
    expect(bob.engine.current).toBeNull();

    command(relay, 'alice', { kind: 'admit', nick: 'bob', knock: knock.seq });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
    expect(alice.engine.admissionView.knocks).toEqual([]);
    expect(bob.engine.admissionView.policy).toBe('knock');
    relay.say('bob', 'thanks for letting me in');
    relay.settle();
    expect(messagesOf(alice)).toEqual([{ from: 'bob', text: 'thanks for letting me in' }]);
  });

  it('DECLINE drops the knock; the joiner is told and stops asking', () => {
    const relay = founded('knock-decline', 'knock');
    const carol = relay.join('carol');
    relay.settle(10_000);
    const knock = knockOf(relay, 'alice', 'carol');
    command(relay, 'alice', { kind: 'decline', nick: 'carol', knock: knock.seq });
    relay.settle(10_000);
    expect(relay.client('alice').engine.admissionView.knocks).toEqual([]);
    expect(carol.engine.joinPhase).toBe('refused');
    expect(carol.events).toContainEqual(
      expect.objectContaining({ type: 'refused', reason: 'declined', by: 'alice' }),
    );
    const asked = relay.log.filter((e) => e.nick === 'carol' && e.kind === 'message').length;
    relay.settle(60_000);
    expect(relay.log.filter((e) => e.nick === 'carol' && e.kind === 'message').length).toBe(asked);
    expect(carol.engine.isMember).toBe(false);
    expect([...relay.client('alice').engine.sessions.values()]).toHaveLength(1);
  });

  it('ADMIT from a non-member, a forged one, or for an unknown request is refused', () => {
    const relay = founded('knock-forged', 'knock');
    relay.join('bob');
    relay.settle(10_000);
    const alice = relay.client('alice');
    const knock = knockOf(relay, 'alice', 'bob');
    const c = alice.engine.current!;
    const lt = (relay.client('bob').engine as unknown as { identity: { publicKey: Uint8Array } })
      .identity.publicKey;
    const admit = (seq: number) => ({ index: 0, nick: 'bob', lt, knock: seq });
    // mallory is in the relay room, not in the session: no key of C signs for her.
    relay.join('mallory', { silent: true });
    const stranger = alice.crypto.signKeyPair();
    relay.inject(
      'mallory',
      encodeFrame(alice.crypto, 'ADMIT', c.sidBytes, admit(knock.seq), stranger.secretKey),
    );
    // Alice's nick, but not alice's key (a forging relay).
    relay.inject(
      'alice',
      encodeFrame(alice.crypto, 'ADMIT', c.sidBytes, admit(knock.seq), stranger.secretKey),
    );
    // Alice's key, but no such request.
    relay.inject(
      'alice',
      encodeFrame(alice.crypto, 'ADMIT', c.sidBytes, admit(knock.seq + 1), c.own!.eph.secretKey),
    );
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'mallory', 'ADMIT')).toEqual(['sender-not-participant']);
    expect(outcomes(alice, relay, 'alice', 'ADMIT')).toEqual(['bad-signature', 'unknown-knock']);
    expect(alice.engine.admissionView.knocks.map((k) => k.nick)).toEqual(['bob']);
    expect(relay.client('bob').engine.isMember).toBe(false);
  });

  it('a knocker that leaves the relay is removed from the list', () => {
    const relay = founded('knock-leaves', 'knock');
    relay.join('bob');
    relay.settle(10_000);
    expect(knockOf(relay, 'alice', 'bob')).toBeTruthy();
    relay.disconnect('bob');
    relay.settle(10_000);
    expect(relay.client('alice').engine.admissionView.knocks).toEqual([]);
  });

  it('knocks survive session changes; the state transfer hands them to a new member, who admits', () => {
    const relay = founded('knock-transfer', 'knock');
    relay.join('carol');
    relay.settle(10_000);
    relay.join('bob');
    relay.settle(10_000);
    command(relay, 'alice', {
      kind: 'admit',
      nick: 'bob',
      knock: knockOf(relay, 'alice', 'bob').seq,
    });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
    // Bob followed the room from alice's state: he knows the policy and carol's knock.
    const bob = relay.client('bob');
    expect(bob.engine.admissionView.policy).toBe('knock');
    expect(bob.engine.admissionView.knocks.map((k) => k.nick)).toEqual(['carol']);
    expect(views(relay, ['alice', 'bob'])[0]).toBe(views(relay, ['alice', 'bob'])[1]);
    command(relay, 'bob', {
      kind: 'admit',
      nick: 'carol',
      knock: knockOf(relay, 'bob', 'carol').seq,
    });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob', 'carol']);
    const all = views(relay, ['alice', 'bob', 'carol']);
    expect(new Set(all).size).toBe(1);
    expect(relay.client('carol').engine.admissionView.knocks).toEqual([]);
  });

  it('a snapshot keeps the policy and the knocks: a restarted member admits', () => {
    const relay = founded('knock-snapshot', 'knock');
    relay.join('bob');
    relay.settle(10_000);
    const before = JSON.stringify(relay.client('alice').engine.admissionView);
    relay.restart('alice');
    const alice = relay.client('alice');
    expect(JSON.stringify(alice.engine.admissionView)).toBe(before);
    expect(alice.events).toContainEqual(
      expect.objectContaining({ type: 'admission', change: 'restored' }),
    );
    command(relay, 'alice', {
      kind: 'admit',
      nick: 'bob',
      knock: knockOf(relay, 'alice', 'bob').seq,
    });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
  });
});

describe('admission: policy changes', () => {
  it('a member changes the policy; opening lets the waiting knocks in; a replayed POLICY is stale', () => {
    const relay = founded('policy-open', 'knock');
    relay.join('carol');
    relay.settle(10_000);
    command(relay, 'alice', { kind: 'set-policy', policy: 'invite' });
    relay.settle(10_000);
    expect(relay.client('alice').engine.admissionView.policy).toBe('invite');
    // Carol's knock came before the switch: it still waits (and may still be answered).
    expect(knockOf(relay, 'alice', 'carol')).toBeTruthy();
    const policyFrame = lastFrame(relay, 'alice', 11);
    command(relay, 'alice', { kind: 'set-policy', policy: 'open' });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'carol']);
    expect(relay.client('carol').engine.admissionView.policy).toBe('open');
    // The relay replays the earlier POLICY: it names a policy no longer in force.
    relay.inject('alice', policyFrame);
    relay.settle(10_000);
    expect(outcomes(relay.client('carol'), relay, 'alice', 'POLICY').at(-1)).toBe('stale-policy');
    expect(relay.client('carol').engine.admissionView.policy).toBe('open');
    // Open: the next joiner gets in without anyone's answer.
    relay.join('dave');
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'carol', 'dave']);
  });

  it('POLICY from someone outside the session changes nothing', () => {
    const relay = founded('policy-stranger', 'knock');
    const alice = relay.client('alice');
    relay.join('mallory', { silent: true });
    const stranger = alice.crypto.signKeyPair();
    const body = { index: 0, policy: 'open', prev: 0 };
    relay.inject(
      'mallory',
      encodeFrame(alice.crypto, 'POLICY', alice.engine.current!.sidBytes, body, stranger.secretKey),
    );
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'mallory', 'POLICY')).toEqual(['sender-not-participant']);
    expect(alice.engine.admissionView.policy).toBe('knock');
  });

  it('a room founded open (or by an older client, without a policy) admits everyone', () => {
    const relay = founded('policy-default-open', 'open');
    relay.join('bob');
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
    expect(relay.client('bob').engine.admissionView.policy).toBe('open');
  });
});

describe('admission: invite only', () => {
  it('a valid one-time invite admits; its reuse, another key, no invite and a forged proof are refused', () => {
    const relay = founded('invite-only', 'invite');
    const alice = relay.client('alice');
    const { seed } = announceInvite(relay, 'alice', 7);
    expect(alice.engine.admissionView.invites).toBe(1);

    relay.join('bob', { config: { inviteSeed: seed } });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
    expect(alice.engine.admissionView.invites).toBe(0);

    // The same invite again, by someone else: used.
    const carol = relay.join('carol', { config: { inviteSeed: seed } });
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'carol', 'JOIN_REQUEST')[0]).toBe('invite-used');
    expect(carol.engine.joinPhase).toBe('refused');
    expect(carol.events).toContainEqual(
      expect.objectContaining({
        type: 'refused',
        reason: 'invite-used',
        message: 'this invitation was already used',
      }),
    );

    // No invite at all.
    const dave = relay.join('dave');
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'dave', 'JOIN_REQUEST')[0]).toBe(
      'ignored: invitation only (invite-missing)',
    );
    expect(dave.events).toContainEqual(
      expect.objectContaining({
        type: 'refused',
        reason: 'invite-only',
        message: 'this room admits by invitation only',
      }),
    );

    // A key nobody announced.
    relay.join('erin', { config: { inviteSeed: new Uint8Array(32).fill(9) } });
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'erin', 'JOIN_REQUEST')[0]).toBe('invite-unknown');

    // An announced, unused invite, but the proof is for another identity (copied off the wire).
    const second = announceInvite(relay, 'bob', 11);
    const frank = relay.join('frank', { config: { inviteSeed: second.seed } });
    frank.tamper = (data) =>
      data[1] !== 1
        ? data
        : resign(frank, data, (body) => {
            const other = alice.crypto.signKeyPair();
            const msg = inviteUse(
              alice.crypto,
              second.keys.publicKey,
              'zed',
              other.publicKey,
              other.publicKey,
            );
            (body['invite'] as { sig: Uint8Array }).sig = alice.crypto.sign(
              msg,
              second.keys.secretKey,
            );
          });
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'frank', 'JOIN_REQUEST')[0]).toBe('invite-bad-signature');
    expect(alice.engine.admissionView.invites).toBe(1);

    // Every client decided alike, members and the refused alike never got in.
    assertConverged(relay, ['alice', 'bob']);
    expect(new Set(views(relay, ['alice', 'bob'])).size).toBe(1);
    for (const n of ['carol', 'dave', 'erin', 'frank'])
      expect(relay.client(n).engine.isMember).toBe(false);

    // The unused second invite still works for its holder.
    relay.join('gina', { config: { inviteSeed: second.seed } });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob', 'gina']);
    expect(new Set(views(relay, ['alice', 'bob', 'gina'])).size).toBe(1);
  });

  it('an expired invite is refused; a replayed INVITE of a spent key is refused', () => {
    const relay = founded('invite-expiry', 'invite');
    const alice = relay.client('alice');
    const { seed } = announceInvite(relay, 'alice', 3, relay.clock + 5_000);
    const inviteFrame = lastFrame(relay, 'alice', 14);
    relay.clock += 10_000;
    relay.join('bob', { config: { inviteSeed: seed } });
    relay.settle(10_000);
    expect(outcomes(alice, relay, 'bob', 'JOIN_REQUEST')[0]).toBe('invite-expired');

    const fresh = announceInvite(relay, 'alice', 4);
    const freshFrame = lastFrame(relay, 'alice', 14);
    relay.join('carol', { config: { inviteSeed: fresh.seed } });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'carol']);
    relay.inject('alice', freshFrame);
    relay.inject('alice', inviteFrame);
    relay.settle(10_000);
    // The used key is spent for good; the expired one stays expired.
    expect(outcomes(alice, relay, 'alice', 'INVITE').slice(-2)).toEqual([
      'invite-known',
      'invite-expired',
    ]);
    expect(alice.engine.admissionView.invites).toBe(0);
  });

  it('a valid invite also lets a joiner into a knock room without an answer', () => {
    const relay = founded('invite-in-knock', 'knock');
    const { seed } = announceInvite(relay, 'alice', 5);
    relay.join('bob', { config: { inviteSeed: seed } });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
    expect(relay.client('alice').engine.admissionView.knocks).toEqual([]);
  });
});

describe('admission: the joiner', () => {
  it('the knocking joiner is a member once admitted even after many retries', () => {
    const relay = founded('knock-retries', 'knock');
    relay.join('bob');
    relay.settle(60_000);
    const k = knockOf(relay, 'alice', 'bob');
    command(relay, 'alice', { kind: 'admit', nick: asNick('bob'), knock: k.seq });
    relay.settle(30_000);
    assertConverged(relay, ['alice', 'bob']);
    expect(relay.client('bob').engine.joinPhase).toBe('member');
  });
});
