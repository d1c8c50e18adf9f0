// RoomEngine.signerFor: the key the engine would check a frame against, for hosts that verify
// signatures ahead of it (src-main/client/verify-pool.ts). A pure lookup; a wrong answer could
// only waste work, never let a frame in, because the engine's own check needs the same bytes.
import { beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../src-main/protocol/sodium-backend';
import { asNick } from '../../src-main/protocol/types';
import { assertConverged, messagesOf, ready, SimRelay } from '../../src-main/sim/relay';

beforeAll(ready);

function lastFrame(relay: SimRelay): Uint8Array {
  const last = relay.log[relay.log.length - 1];
  if (last?.kind !== 'message') throw new Error('no frame at the end of the log');
  return last.data;
}

describe('RoomEngine.signerFor', () => {
  it('names the sender’s session key for a frame of a known session, and nothing else', () => {
    const relay = new SimRelay('signer-for');
    for (const name of ['alice', 'bob', 'carol']) {
      relay.join(name);
      relay.settle(20_000);
    }
    assertConverged(relay, ['alice', 'bob', 'carol']);
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => relay.client(n));
    if (!alice || !bob || !carol) throw new Error('clients missing');

    relay.say('alice', 'verified ahead');
    const frame = lastFrame(relay);
    const job = bob.engine.signerFor(asNick('alice'), frame);
    if (!job) throw new Error('bob should know the key of alice’s frame');
    expect(backend().verify(job.signature, job.message, job.publicKey)).toBe(true);
    expect(carol.engine.signerFor(asNick('alice'), frame)?.publicKey).toEqual(job.publicKey);
    // The sender's own frame needs no check; a frame the relay attributes to someone else gets
    // that member's key, which does not verify it.
    expect(alice.engine.signerFor(asNick('alice'), frame)).toBeNull();
    const misattributed = bob.engine.signerFor(asNick('carol'), frame);
    expect(misattributed?.publicKey).not.toEqual(job.publicKey);
    expect(
      backend().verify(
        misattributed?.signature as Uint8Array,
        frame.subarray(0, frame.length - 64),
        misattributed?.publicKey as Uint8Array,
      ),
    ).toBe(false);
    // Not in the session, malformed, truncated: nothing to verify ahead.
    expect(bob.engine.signerFor(asNick('mallory'), frame)).toBeNull();
    expect(bob.engine.signerFor(asNick('alice'), new Uint8Array([1, 2, 3]))).toBeNull();
    expect(bob.engine.signerFor(asNick('alice'), frame.subarray(0, 40))).toBeNull();

    // Told that the signature is good, bob's engine takes the answer for exactly that frame.
    const before = { ...bob.crypto.counters };
    bob.crypto.acceptVerified(job.signature, job.message, job.publicKey);
    relay.settle();
    expect(messagesOf(bob)).toContainEqual({ from: 'alice', text: 'verified ahead' });
    expect(bob.crypto.counters.verifyOffThread - before.verifyOffThread).toBe(1);

    // A newcomer follows no session yet; a JOIN_REQUEST carries its key in its own body.
    const dave = relay.join('dave');
    expect(dave.engine.signerFor(asNick('alice'), frame)).toBeNull();
    relay.drain();
    const sent = relay.log.find((e) => e.kind === 'message' && e.nick === 'dave');
    if (sent?.kind !== 'message') throw new Error('dave sent no JOIN_REQUEST');
    const request = sent.data;
    expect(bob.engine.signerFor(asNick('dave'), request)).toBeNull();
  });
});
