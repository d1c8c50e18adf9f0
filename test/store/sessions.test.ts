// Sessions: upserts, secrets kept or removed, one current per room, dead is final, history.

import { describe, expect, it } from 'vitest';
import { StoreConstraintError, StoreMisuseError } from '../../src-main/store';
import { bytes, currentSession, log, member, openTestStore, sid, storeWithRoom } from './helpers';

/** sid(1) as currentSession writes it, for demoting it in a later event. */
const currentDemoted = () => ({
  sid: sid(1),
  status: 'current' as const,
  kind: 'genesis' as const,
  parentSid: null,
  reason: 'superseded',
  members: [member('alice'), member('bob')],
  progress: null,
});

describe('sessions', () => {
  it('upserts sessions, keeps the secret until told otherwise, and records history', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    store.applyEvent(roomId, 2, {
      log: log(),
      sessions: [
        {
          sid: sid(2),
          status: 'in-limbo',
          kind: 'join',
          parentSid: sid(1),
          reason: 'join of carol',
          members: [member('alice'), member('bob'), member('carol')],
          progress: { tokens: [1, 3], shares: [0, 3], confirmations: [0, 3] },
          secret: bytes(48, 9),
        },
      ],
      history: [{ sid: sid(2), status: 'in-limbo', reason: 'join of carol' }],
    });

    const [first, second] = store.listSessions(roomId);
    expect(first).toEqual({
      roomId,
      sid: sid(1),
      status: 'current',
      kind: 'genesis',
      parentSid: null,
      reason: 'created alone',
      members: [member('alice'), member('bob')],
      progress: null,
      joiners: null,
      createdSeq: 1,
      updatedSeq: 1,
      createdAt: 1002,
      hasSecret: true,
    });
    expect(second).toMatchObject({
      sid: sid(2),
      kind: 'join',
      parentSid: sid(1),
      progress: { tokens: [1, 3], shares: [0, 3], confirmations: [0, 3] },
      createdSeq: 2,
    });
    expect(store.getSessionSecret(roomId, sid(2))).toEqual(bytes(48, 9));

    // Progress update without a secret: the stored secret stays, and so does the kind.
    store.applyEvent(roomId, 3, {
      log: log(),
      sessions: [
        {
          sid: sid(2),
          status: 'in-limbo',
          kind: 'rekey',
          parentSid: sid(1),
          reason: 'join of carol',
          members: [member('alice'), member('bob'), member('carol')],
          progress: { tokens: [3, 3], shares: [1, 3], confirmations: [0, 3] },
        },
      ],
    });
    expect(store.getSessionSecret(roomId, sid(2))).toEqual(bytes(48, 9));
    expect(store.listSessions(roomId)[1]).toMatchObject({
      kind: 'join',
      createdSeq: 2,
      updatedSeq: 3,
      createdAt: 1003,
    });

    // Listed in one event, the new current and the superseded one: order does not matter.
    store.applyEvent(roomId, 4, {
      log: log(),
      sessions: [
        {
          sid: sid(2),
          status: 'current',
          kind: 'join',
          parentSid: sid(1),
          reason: 'join of carol',
          members: [member('alice'), member('bob'), member('carol')],
          progress: null,
        },
        {
          sid: sid(1),
          status: 'dead',
          kind: 'genesis',
          parentSid: null,
          reason: `superseded by ${sid(2)}`,
          members: [member('alice'), member('bob')],
          progress: null,
        },
      ],
      history: [
        { sid: sid(2), status: 'current', reason: 'join of carol' },
        { sid: sid(1), status: 'dead', reason: `superseded by ${sid(2)}` },
      ],
    });
    expect(store.listSessions(roomId).map((s) => [s.status, s.hasSecret])).toEqual([
      ['dead', false],
      ['current', true],
    ]);
    expect(store.getSessionHistory(roomId).map((h) => [h.sid, h.status, h.seq])).toEqual([
      [sid(2), 'in-limbo', 2],
      [sid(2), 'current', 4],
      [sid(1), 'dead', 4],
    ]);
    expect(store.getSessionHistory(roomId, sid(1))).toEqual([
      { roomId, sid: sid(1), status: 'dead', reason: `superseded by ${sid(2)}`, seq: 4, at: 1005 },
    ]);
  });

  it('removes the secret when a session dies, and a dead session stays dead', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    expect(store.getSessionSecret(roomId, sid(1))).toEqual(bytes(32, 7));
    const dead = {
      sid: sid(1),
      status: 'dead',
      kind: 'genesis',
      parentSid: null,
      reason: 'leave of bob',
      members: [member('alice'), member('bob')],
      progress: null,
    } as const;
    store.applyEvent(roomId, 2, { log: log(), sessions: [dead] });
    expect(store.getSessionSecret(roomId, sid(1))).toBeNull();
    expect(store.listSessions(roomId)[0]?.hasSecret).toBe(false);

    expect(() =>
      store.applyEvent(roomId, 3, { log: log(), sessions: [{ ...dead, secret: bytes(32, 1) }] }),
    ).toThrow(StoreMisuseError);
    expect(() =>
      store.applyEvent(roomId, 3, { log: log(), sessions: [{ ...dead, status: 'current' }] }),
    ).toThrow(/dead session cannot change status/);
    expect(store.getRoom(roomId)?.cursorSeq).toBe(2);
  });

  it('refuses malformed sids before writing', async () => {
    const { store, roomId } = await storeWithRoom();
    const bad = {
      sid: 'ABC',
      status: 'in-limbo',
      kind: 'genesis',
      parentSid: null,
      reason: 'x',
      members: [],
      progress: null,
    } as const;
    expect(() => store.applyEvent(roomId, 1, { log: log(), sessions: [bad] })).toThrow(
      StoreMisuseError,
    );
  });

  it('writes only the declared member fields', async () => {
    const { store, roomId } = await storeWithRoom();
    const sneaky = { nick: 'bob', fingerprint: 'fp', secretKey: 'do-not-store' };
    store.applyEvent(roomId, 1, {
      log: log(),
      sessions: [
        {
          sid: sid(1),
          status: 'in-limbo',
          kind: 'genesis',
          parentSid: null,
          reason: 'x',
          members: [sneaky],
          progress: null,
        },
      ],
    });
    expect(store.listSessions(roomId)[0]?.members).toEqual([{ nick: 'bob', fingerprint: 'fp' }]);
  });
  it('stores a batch session with its joiners, kept from the first write (migration 7)', async () => {
    const { store, roomId, path } = await storeWithRoom();
    currentSession(store, roomId, 1);
    const batch = (status: 'in-limbo' | 'current', joiners?: string[] | null) => ({
      sid: sid(2),
      status,
      kind: 'batch' as const,
      parentSid: sid(1),
      reason: 'batch of carol, dan',
      members: ['alice', 'bob', 'carol', 'dan'].map(member),
      progress: { tokens: { have: 1, need: 2 } },
      ...(joiners === undefined ? {} : { joiners }),
    });
    store.applyEvent(roomId, 2, { log: log(), sessions: [batch('in-limbo', ['carol', 'dan'])] });
    // A later write without joiners (or with others) does not lose or change them.
    store.applyEvent(roomId, 3, { log: log(), sessions: [batch('in-limbo', null)] });
    store.applyEvent(roomId, 4, {
      log: log(),
      sessions: [{ ...currentDemoted(), status: 'in-limbo' }, batch('current', ['eve'])],
    });
    const expected = { sid: sid(2), kind: 'batch', status: 'current', joiners: ['carol', 'dan'] };
    expect(store.listSessions(roomId)[1]).toMatchObject(expected);
    expect(store.listSessions(roomId)[0]).toMatchObject({ kind: 'genesis', joiners: null });
    // Joiners on a session that is not a batch: the schema refuses, nothing is written.
    expect(() =>
      store.applyEvent(roomId, 5, {
        log: log(),
        sessions: [{ ...batch('in-limbo', ['frank']), sid: sid(3), kind: 'join' }],
      }),
    ).toThrow(StoreConstraintError);
    expect(store.listSessions(roomId)).toHaveLength(2);
    store.close();
    const reopened = await openTestStore(path);
    expect(reopened.listSessions(roomId)[1]).toMatchObject(expected);
  });
});
