// The in-memory RoomLog on its own: order, membership, ownership, retention and forgetting.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRoomLog } from '../../src-main/relay/memory-log';
import type { Attachment } from '../../src-main/relay/room-log';
import { sha256 } from '../../src-main/relay/secrets';
import type { Nick, Owner, RoomEvent, RoomId, Seq } from '../../src-main/relay/wire';

let now = 1_000_000;
let log: MemoryRoomLog | undefined;
afterEach(async () => {
  await log?.close();
  log = undefined;
});

function open(count = 100, ageMs = 60_000): MemoryRoomLog {
  log = new MemoryRoomLog({ retention: { count, ageMs }, now: () => now });
  return log;
}

const room = 'room' as RoomId;
const seq = (n: number) => n as Seq;
function at(nick: string, owner = `${nick}-1`): Attachment {
  return { room, nick: nick as Nick, owner: owner as Owner };
}

describe('MemoryRoomLog', () => {
  it('numbers events 1, 2, 3 and lists members present before a join', async () => {
    const l = open();
    const a = await l.join(at('a'), sha256('ta'), 10);
    const b = await l.join(at('b'), sha256('tb'), 10);
    expect(a).toMatchObject({ ok: true, event: { seq: 1, type: 'joined' }, members: [] });
    expect(b).toMatchObject({ ok: true, event: { seq: 2 }, members: ['a'] });
    expect(await l.append(at('a'), Buffer.from('x'))).toMatchObject({
      ok: true,
      event: { seq: 3 },
    });
    expect(await l.join(at('a', 'other'), sha256('t'), 10)).toEqual({
      ok: false,
      code: 'NICK_TAKEN',
    });
    expect(await l.join(at('c'), sha256('t'), 2)).toEqual({ ok: false, code: 'ROOM_FULL' });
  });

  it('only the owner may speak for a nick; a resume moves ownership', async () => {
    const l = open();
    await l.join(at('a'), sha256('ta'), 10);
    expect(await l.append(at('a', 'intruder'), Buffer.from('x'))).toEqual({
      ok: false,
      code: 'NOT_IN_ROOM',
    });
    expect(await l.resume(at('a', 'a-2'), sha256('ta'), seq(1))).toMatchObject({
      ok: true,
      head: 1,
    });
    expect(await l.append(at('a', 'a-1'), Buffer.from('x'))).toMatchObject({ ok: false });
    expect(await l.expire(at('a', 'a-1'))).toBeNull(); // the old owner's grace timer is moot
    expect(await l.leave(at('a', 'a-2'))).toMatchObject({ ok: true, event: { type: 'left' } });
  });

  it('subscribe replays after a seq, then follows live, in order', async () => {
    const l = open();
    await l.join(at('a'), sha256('t'), 10);
    for (let k = 0; k < 3; k++) await l.append(at('a'), Buffer.from([k]));
    const seen: RoomEvent[] = [];
    const stop = l.subscribe(room, seq(2), (e) => seen.push(e));
    await l.append(at('a'), Buffer.from([9]));
    stop();
    await l.append(at('a'), Buffer.from([10]));
    expect(seen.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(() => {
      l.subscribe(room, seq(0), () => undefined);
      l.subscribe(room, seq(0), () => undefined);
    }).toThrow(/second subscription/);
  });

  it('retains at most `count` events and none older than `ageMs`', async () => {
    const l = open(3, 1_000);
    await l.join(at('a'), sha256('t'), 10);
    for (let k = 0; k < 5; k++) await l.append(at('a'), Buffer.from([k]));
    expect((await l.read(room, seq(0), 100)).map((e) => e.seq)).toEqual([4, 5, 6]);
    expect((await l.read(room, seq(4), 1)).map((e) => e.seq)).toEqual([5]);
    expect(await l.resume(at('a', 'x'), sha256('t'), seq(2))).toMatchObject({
      ok: false,
      code: 'GAP_UNAVAILABLE',
    });
    now += 1_500;
    await l.append(at('a'), Buffer.from('fresh'));
    expect((await l.read(room, seq(0), 100)).map((e) => e.seq)).toEqual([7]);
  });

  it('keeps only the retained window of a long stream', async () => {
    const l = open(1_000);
    await l.join(at('a'), sha256('t'), 10);
    for (let k = 0; k < 50_000; k++) await l.append(at('a'), Buffer.from('x'));
    const kept = await l.read(room, seq(0), 5_000);
    expect(kept).toHaveLength(1_000);
    expect(kept[0]?.seq).toBe(50_001 - 999);
  });

  it('forgets a room once it has been empty for the retention age', async () => {
    const l = open(100, 1_000);
    await l.join(at('a'), sha256('t'), 10);
    await l.leave(at('a'));
    l.sweep();
    expect(l.roomCount).toBe(1);
    now += 1_000;
    l.sweep();
    expect(l.roomCount).toBe(0);
    // A forgotten room starts over at seq 1.
    expect(await l.join(at('b'), sha256('t'), 10)).toMatchObject({ event: { seq: 1 } });
  });
});
