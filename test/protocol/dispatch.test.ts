// The dispatch table (src-main/protocol/dispatch.ts): one row per message type, and each named
// check stops a crafted frame with its own drop reason, in the row's order, through
// RoomEngine.handle (the outcome of the `log` event the engine emits for it).
import { beforeAll, describe, expect, it } from 'vitest';
import type { MessageTypeName } from '../../src-main/protocol/codec';
import { encodeFrame, MessageType, PROTOCOL_VERSION } from '../../src-main/protocol/codec';
import type { Session } from '../../src-main/protocol/session';
import { DISPATCH } from '../../src-main/protocol/dispatch';
import { asNick, asSeq } from '../../src-main/protocol/types';
import type { SimClient, SimRelay } from '../../src-main/sim/relay';
import { buildRoom, ready } from '../../src-main/sim/relay';

beforeAll(ready);

/** Hand one ordered message to a client's engine, next in its order; the engine's outcome. */
function deliver(relay: SimRelay, to: SimClient, from: string, data: Uint8Array): string {
  const seq = asSeq(to.engine.lastProcessedSeq + 1);
  const effects = to.engine.handle({
    kind: 'message',
    seq,
    nick: asNick(from),
    data,
    at: relay.clock,
  });
  for (const e of effects) if (e.type === 'event' && e.event.type === 'log') return e.event.outcome;
  throw new Error('the engine logged no outcome');
}

/** A participant's signing material in a session, copied while it is still held. */
interface Signer {
  sid: Uint8Array;
  index: number;
  key: Uint8Array;
}

function signerOf(c: SimClient): Signer {
  const own = (c.engine.current as Session).own;
  if (!own) throw new Error(`${c.nick} holds no key in its current session`);
  return {
    sid: (c.engine.current as Session).sidBytes,
    index: own.index,
    key: own.eph.secretKey.slice(),
  };
}

function frame(c: SimClient, type: MessageTypeName, s: Signer, body: unknown): Uint8Array {
  return encodeFrame(c.crypto, type, s.sid, body, s.key);
}

/** A well-signed frame whose body is not MessagePack at all (0xc1 is never used). */
function notMsgpack(c: SimClient, type: MessageTypeName, s: Signer): Uint8Array {
  const signed = new Uint8Array([PROTOCOL_VERSION, MessageType[type], 32, ...s.sid, 0xc1]);
  return new Uint8Array([...signed, ...c.crypto.sign(signed, s.key)]);
}

const names = (type: MessageTypeName) => DISPATCH[type].checks.map((c) => c.name);

describe('the dispatch table', () => {
  it('has exactly one row per message type, each naming its own type', () => {
    expect(Object.keys(DISPATCH).sort()).toEqual(Object.keys(MessageType).sort());
    for (const [type, row] of Object.entries(DISPATCH)) expect(row.type).toBe(type);
  });

  it('runs the session checks in the documented order; requests and reveals check themselves', () => {
    const standard = [
      'following-the-room',
      'session-known',
      'sender-participant',
      'signature',
      'session-alive',
      'body',
      'sender-index',
    ];
    for (const type of ['JOINER_AUTH', 'GROUP_SHARE', 'CHAT', 'REKEY', 'TIMEOUT'] as const) {
      expect(names(type)).toEqual(standard);
    }
    expect(names('SESSION_CONFIRMATION')).toEqual(['founds-a-room', ...standard]);
    expect(names('PARTICIPANTS_INFO')[0]).toBe('following-the-room-or-state-transfer');
    expect(names('LEAVE')[4]).toBe('session-alive-or-leave-in-flight');
    expect(names('JOIN_REQUEST')).toEqual([]);
    expect(names('REVEAL')).toEqual([]);
    expect(DISPATCH.JOIN_REQUEST.sender).toBe('named-in-body');
    expect(DISPATCH.JOINER_AUTH.sender).toBe('joiner');
    expect(DISPATCH.LEAVE.session).toBe('current-or-previous');
  });
});

describe('each check stops a crafted frame with its drop reason', () => {
  it('a CHAT: parse, session, sender, signature, body, index; each reason as the table names it', () => {
    const relay = buildRoom(['alice', 'bob', 'carol'], 'dispatch-chat');
    const [alice, bob] = [relay.client('alice'), relay.client('bob')];
    const s = signerOf(bob);
    const reason = (name: string) =>
      DISPATCH.CHAT.checks.find((c) => c.name === name)?.fails as string;
    const chat = { index: s.index, number: 0, sealed: new Uint8Array(40) };

    expect(deliver(relay, alice, 'bob', new Uint8Array([1, 6, 32]))).toBe('frame-too-short');
    const elsewhere = { ...s, sid: new Uint8Array(32).fill(7) };
    expect(deliver(relay, alice, 'bob', frame(bob, 'CHAT', elsewhere, chat))).toBe(
      reason('session-known'),
    );
    expect(reason('session-known')).toBe('unknown-sid');
    expect(deliver(relay, alice, 'mallory', frame(bob, 'CHAT', s, chat))).toBe(
      'sender-not-participant',
    );
    // Bob's frame, attributed by the relay to carol: carol is a participant, her key refuses it.
    expect(deliver(relay, alice, 'carol', frame(bob, 'CHAT', s, chat))).toBe('bad-signature');
    expect(deliver(relay, alice, 'bob', notMsgpack(bob, 'CHAT', s))).toBe('body-not-msgpack');
    expect(deliver(relay, alice, 'bob', frame(bob, 'CHAT', s, { index: s.index }))).toBe(
      'body-schema',
    );
    const other = { ...chat, index: (s.index + 1) % 3 };
    expect(deliver(relay, alice, 'bob', frame(bob, 'CHAT', s, other))).toBe(
      'sender-index-mismatch',
    );
    // The signature is checked before the body: a bad body under a wrong key is a bad signature.
    expect(deliver(relay, alice, 'carol', notMsgpack(bob, 'CHAT', s))).toBe('bad-signature');
  });

  it('a dead session drops everything but a LEAVE in flight from the previous current one', () => {
    const relay = buildRoom(['alice', 'bob'], 'dispatch-dead');
    const inFirst = signerOf(relay.client('bob'));
    relay.join('carol');
    relay.settle(20_000);
    const inSecond = signerOf(relay.client('bob'));
    relay.join('dave');
    relay.settle(20_000);
    const [alice, bob] = [relay.client('alice'), relay.client('bob')];
    const sessionOf = (s: Signer) =>
      [...alice.engine.sessions.values()].find((x) => x.sidBytes.join() === s.sid.join());
    expect(sessionOf(inFirst)?.status).toBe('dead');
    expect(sessionOf(inSecond)?.status).toBe('dead');
    const leave = (s: Signer) => frame(bob, 'LEAVE', s, { index: s.index });
    expect(deliver(relay, alice, 'bob', leave(inFirst))).toBe('ignored: dead session');
    const rekey = frame(bob, 'REKEY', inSecond, { index: inSecond.index });
    expect(deliver(relay, alice, 'bob', rekey)).toBe('ignored: dead session');
    // Past the dead-session check, the body is still checked, then the handler takes it.
    const wrong = frame(bob, 'LEAVE', inSecond, { index: inSecond.index, extra: 1 });
    expect(deliver(relay, alice, 'bob', wrong)).toBe('body-schema');
    expect(deliver(relay, alice, 'bob', leave(inSecond))).toBe('accepted');
    expect(alice.engine.pending.leavers).toEqual(['bob']);
  });

  it('before following the room: a PARTICIPANTS_INFO goes to the state transfer, the rest waits', () => {
    const relay = buildRoom(['alice', 'bob'], 'dispatch-detached');
    const bob = relay.client('bob');
    const s = signerOf(bob);
    const newcomer = relay.join('dave'); // its engine has seen nothing yet
    const share = { index: s.index, parent: new Uint8Array(32), z: new Uint8Array(32) };
    expect(deliver(relay, newcomer, 'bob', frame(bob, 'GROUP_SHARE', s, share))).toBe(
      'ignored: not following the room yet',
    );
    // tryAttach reads the body (the plain check would not): a 5-byte z is no PARTICIPANTS_INFO.
    const short = { ...share, z: new Uint8Array(5) };
    expect(deliver(relay, newcomer, 'bob', frame(bob, 'PARTICIPANTS_INFO', s, short))).toBe(
      'body-schema',
    );
    const info = { ...share, kc: new Uint8Array(32) };
    expect(deliver(relay, newcomer, 'bob', frame(bob, 'PARTICIPANTS_INFO', s, info))).toBe(
      'ignored: not following the room yet',
    );
  });

  it('a SESSION_CONFIRMATION of an unknown sid goes to the founding check before any other', () => {
    const relay = buildRoom(['alice', 'bob'], 'dispatch-founding');
    const [alice, bob] = [relay.client('alice'), relay.client('bob')];
    const s = { ...signerOf(bob), sid: new Uint8Array(32).fill(9) };
    const conf = { index: s.index, conf: new Uint8Array(32), next: new Uint8Array(32) };
    // Not a founding one: no genesis, so the sid is unknown (a CHAT there says the same).
    expect(deliver(relay, alice, 'bob', frame(bob, 'SESSION_CONFIRMATION', s, conf))).toBe(
      'unknown-sid',
    );
    // The founding check decodes the body first: an unknown sid is not what stops this one.
    const bad = frame(bob, 'SESSION_CONFIRMATION', s, {});
    expect(deliver(relay, alice, 'bob', bad)).toBe('body-schema');
    const genesis = { nick: 'bob', lt: new Uint8Array(32), eph: new Uint8Array(32) };
    const claimed = frame(bob, 'SESSION_CONFIRMATION', s, { ...conf, genesis });
    expect(deliver(relay, alice, 'carol', claimed)).toBe('sender-mismatch');
    expect(deliver(relay, alice, 'bob', claimed)).toBe('bad-signature');
  });
});
