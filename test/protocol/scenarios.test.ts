import { beforeAll, describe, expect, it } from 'vitest';
import { assertConverged, messagesOf, ready, SimRelay } from './harness';

beforeAll(ready);

function room(names: string[], seed = 'base'): SimRelay {
  const relay = new SimRelay(seed);
  for (const n of names) {
    relay.join(n);
    relay.settle(20_000);
  }
  return relay;
}

describe('scenarios', () => {
  it('founds a room alone, then admits a single joiner', () => {
    const relay = new SimRelay('single');
    relay.join('alice');
    relay.settle();
    expect(relay.client('alice').engine.isMember).toBe(true);
    relay.join('bob');
    relay.settle();
    assertConverged(relay, ['alice', 'bob']);
    relay.say('bob', 'hello alice');
    relay.settle();
    expect(messagesOf(relay.client('alice'))).toEqual([{ from: 'bob', text: 'hello alice' }]);
    expect(messagesOf(relay.client('bob'))).toEqual([{ from: 'bob', text: 'hello alice' }]);
  });

  for (const k of [2, 3, 5]) {
    it(`admits ${k} simultaneous joiners`, () => {
      const relay = room(['alice', 'bob'], `concurrent-${k}`);
      const joiners = Array.from({ length: k }, (_, i) => `joiner${i}`);
      for (const j of joiners) relay.join(j);
      relay.settle(120_000);
      assertConverged(relay, ['alice', 'bob', ...joiners]);
    });
  }
});
