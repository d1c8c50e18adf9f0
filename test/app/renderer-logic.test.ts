// The renderer's pure logic: the joiner's progress steps, the chat timeline with verification
// marks, and display helpers. Components only render what these compute.
import { describe, expect, it } from 'vitest';
import type {
  ChatMessage,
  KnownKey,
  ProgressCounts,
  RoomNotice,
  RoomState,
  SessionView,
} from '../../src-shared/api';
import {
  age,
  batchProgressText,
  changesInProgress,
  countsText,
  digitRows,
  isDraining,
  joinedText,
  joiningHeadline,
  nameList,
  progressFraction,
  sessionTitle,
  shortFingerprint,
} from '../../src-renderer/src/lib/format';
import { bestCandidate, joinProgress } from '../../src-renderer/src/lib/join-progress';
import {
  buildTimeline,
  COLLAPSE_CHARS,
  COLLAPSE_LINES,
  isLong,
  markFor,
  mergeUnique,
  noticeKey,
  type TimelineItem,
} from '../../src-renderer/src/lib/timeline';

const counts = (t: number, s: number, c: number, need = 3): ProgressCounts => ({
  tokens: { have: t, need: need - 1 },
  shares: { have: s, need },
  confirmations: { have: c, need },
});

function session(over: Partial<SessionView>): SessionView {
  return {
    sid: 'ab'.repeat(32),
    status: 'in-limbo',
    kind: 'join',
    parent: null,
    members: ['alice', 'bob', 'carol'],
    reason: 'join of carol',
    createdSeq: 5,
    createdAt: 1_000,
    progress: counts(0, 0, 0),
    history: [{ status: 'in-limbo', reason: 'join of carol', seq: 5, at: 1_000 }],
    ...over,
  };
}

function room(over: Partial<RoomState>): RoomState {
  return {
    id: '1',
    room: 'general',
    nick: 'carol',
    relayUrl: 'http://127.0.0.1:7438',
    connection: 'connected',
    phase: 'authenticating',
    phaseDetail: '',
    current: null,
    members: [],
    sessions: [],
    cannotSend: 'not yet',
    failure: null,
    muted: false,
    verification: null,
    blames: [],
    held: 0,
    admission: null,
    ...over,
  };
}

const itemText = (i: TimelineItem) =>
  i.kind === 'message' ? i.message.text : i.kind === 'notice' ? i.notice.text : i.pending.text;

describe('join progress', () => {
  it('shows nothing for members and for rooms we left', () => {
    expect(joinProgress(room({ phase: 'member' }))).toBeNull();
    expect(joinProgress(room({ phase: 'left' }))).toBeNull();
  });

  it('starts at connecting, then request sent', () => {
    const connecting = joinProgress(room({ phase: 'connecting', connection: 'connecting' }))!;
    expect(connecting.steps.map((s) => [s.id, s.state])).toEqual([
      ['connect', 'active'],
      ['request', 'pending'],
      ['tokens', 'pending'],
      ['shares', 'pending'],
      ['confirmations', 'pending'],
      ['member', 'pending'],
    ]);
    const asking = joinProgress(room({ phase: 'connecting' }))!;
    expect(asking.steps.slice(0, 3).map((s) => s.state)).toEqual(['done', 'active', 'pending']);
    for (const phase of ['requesting', 'waiting-for-members'] as const) {
      const waiting = joinProgress(room({ phase }))!;
      expect(waiting.steps.slice(0, 3).map((s) => s.state)).toEqual(['done', 'done', 'active']);
      expect(waiting.fraction).toBeGreaterThan(asking.fraction);
    }
    expect(asking.fraction).toBeGreaterThan(connecting.fraction);
  });

  it('follows the furthest candidate session through tokens, shares and confirmations', () => {
    const behind = session({ sid: '01'.repeat(32), progress: counts(1, 0, 0) });
    const ahead = session({ sid: '02'.repeat(32), progress: counts(2, 3, 1) });
    const state = room({
      sessions: [behind, ahead, session({ status: 'dead', progress: counts(2, 3, 3) })],
    });
    expect(bestCandidate(state)?.sid).toBe(ahead.sid);
    const p = joinProgress(state)!;
    const byId = Object.fromEntries(p.steps.map((s) => [s.id, s]));
    expect(byId['tokens']).toMatchObject({ state: 'done', count: { have: 2, need: 2 } });
    expect(byId['shares']).toMatchObject({ state: 'done', count: { have: 3, need: 3 } });
    expect(byId['confirmations']).toMatchObject({ state: 'active', count: { have: 1, need: 3 } });
    expect(p.fraction).toBeGreaterThan(0.7);
    expect(p.fraction).toBeLessThan(1);
  });

  it('says who else a batch admits with us, and nothing for a join of our own', () => {
    const batch = session({
      kind: 'batch',
      members: ['alice', 'bob', 'carol', 'dan', 'erin'],
      joiners: ['dan', 'carol', 'erin'],
      progress: counts(1, 0, 0, 5),
    });
    const p = joinProgress(room({ nick: 'carol', sessions: [batch] }))!;
    expect(p.together).toBe('You and 2 others are joining together: dan and erin');
    // Steps and counts are the batch's, as for a join.
    expect(p.steps.find((s) => s.id === 'tokens')?.count).toEqual({ have: 1, need: 4 });
    // Joiners not named by the runtime: the members the current session does not have.
    const unnamed = { ...batch, joiners: undefined } as SessionView;
    const current = { sid: 'cd'.repeat(32), members: ['alice', 'bob'] };
    expect(joinProgress(room({ sessions: [unnamed], current }))?.together).toBe(
      'You and 2 others are joining together: dan and erin',
    );
    expect(joinProgress(room({ sessions: [session({})] }))?.together).toBeNull();
    const alone = session({ kind: 'batch', joiners: ['carol'] });
    expect(joinProgress(room({ sessions: [alone] }))?.together).toBeNull();
  });

  it('says when the joiner waits for a member to let it in, and when it was not let in', () => {
    const waiting = joinProgress(room({ phase: 'knocking' }))!;
    expect(waiting.headline).toBe('Waiting for a member to let you in');
    expect(waiting.steps.map((s) => `${s.id}:${s.state}`)).toEqual([
      'connect:done',
      'request:done',
      'knock:active',
      'member:pending',
    ]);
    const refused = joinProgress(
      room({ phase: 'refused', cannotSend: 'You were not let in: bob declined your request.' }),
    )!;
    expect(refused.headline).toBe('You were not let in: bob declined your request.');
    expect(refused.steps.find((s) => s.id === 'knock')).toMatchObject({
      label: 'Not let in',
      state: 'pending',
    });
  });

  it('says when the joiner founds the room alone', () => {
    const p = joinProgress(room({ phase: 'founding-room' }))!;
    expect(p.headline).toBe('Founding the room');
    expect(p.steps.find((s) => s.state === 'active')?.id).toBe('founding');
  });
});

describe('timeline', () => {
  const message = (over: Partial<ChatMessage>): ChatMessage => ({
    seq: 10,
    sid: 's1',
    from: 'bob',
    fingerprint: '11111 22222',
    text: 'hi',
    at: 2_000,
    transcript: 'ok',
    own: false,
    ...over,
  });
  const notice = (over: Partial<RoomNotice>): RoomNotice => ({
    seq: 9,
    kind: 'joined',
    nick: 'bob',
    text: 'bob joined',
    at: 1_500,
    ...over,
  });
  const key = (over: Partial<KnownKey>): KnownKey => ({
    nick: 'bob',
    fingerprint: '11111 22222',
    verified: false,
    pendingFingerprint: null,
    ...over,
  });

  it('interleaves messages and notices in processing order', () => {
    const items = buildTimeline(
      [message({ seq: 12, at: 3_000, text: 'later' }), message({})],
      [notice({}), notice({ seq: 13, kind: 'left', text: 'bob left', at: 3_500 })],
      [],
    );
    expect(items.map(itemText)).toEqual(['bob joined', 'hi', 'later', 'bob left']);
  });

  it('puts messages not yet ordered by the relay last, in the order they were typed', () => {
    const items = buildTimeline(
      [message({ seq: 12, at: 3_000, text: 'later' })],
      [notice({ seq: 13, kind: 'left', text: 'bob left', at: 3_500 })],
      [],
      [
        { id: 'a', text: 'unsent', at: 1_000, state: 'failed', error: 'not connected' },
        { id: 'b', text: 'going', at: 4_000, state: 'sending', error: null },
      ],
    );
    expect(items.map(itemText)).toEqual(['later', 'bob left', 'unsent', 'going']);
    expect(items.at(-2)).toMatchObject({ kind: 'pending', key: 'p:a' });
  });

  it('collapses long messages, by characters or by lines', () => {
    expect(isLong('short')).toBe(false);
    expect(isLong('x'.repeat(COLLAPSE_CHARS + 1))).toBe(true);
    expect(isLong('line\n'.repeat(COLLAPSE_LINES))).toBe(true);
    expect(isLong('line\n'.repeat(COLLAPSE_LINES - 2))).toBe(false);
  });

  it('shows a repeated "is joining" only once until something else happens to that member', () => {
    const items = buildTimeline(
      [],
      [
        notice({ seq: 3, kind: 'joining', text: 'carol is joining', nick: 'carol', at: 1 }),
        notice({ seq: 4, kind: 'joined', text: 'bob joined', nick: 'bob', at: 2 }),
        notice({ seq: 5, kind: 'joining', text: 'carol is joining', nick: 'carol', at: 3 }),
        notice({ seq: 6, kind: 'joined', text: 'carol joined', nick: 'carol', at: 4 }),
        notice({ seq: 9, kind: 'left', text: 'carol left', nick: 'carol', at: 5 }),
        notice({ seq: 12, kind: 'joining', text: 'carol is joining', nick: 'carol', at: 6 }),
      ],
      [],
    );
    expect(items.map((i) => (i.kind === 'notice' ? `${i.seq}` : ''))).toEqual([
      '3',
      '4',
      '6',
      '9',
      '12',
    ]);
  });

  it('shows the members a batch admitted at one event as one line, after a restart too', () => {
    const joined = (nick: string, seq = 20, at = 5_000) =>
      notice({ seq, kind: 'joined', nick, text: `${nick} joined`, at });
    // As the runtime writes them and the store returns them: one per member, one seq, in order.
    const notices = [
      notice({ seq: 17, kind: 'joining', nick: 'ada', text: 'ada is joining', at: 4_000 }),
      notice({ seq: 18, kind: 'joining', nick: 'brian', text: 'brian is joining', at: 4_100 }),
      notice({ seq: 19, kind: 'joining', nick: 'chen', text: 'chen is joining', at: 4_200 }),
      joined('ada'),
      notice({
        seq: 20,
        kind: 'cannot-read',
        nick: 'zed',
        text: 'zed can no longer read',
        at: 5_000,
      }),
      joined('brian', 20, 5_001),
      joined('chen', 20, 5_001),
      joined('dora', 24, 6_000),
    ];
    const items = buildTimeline([message({ seq: 21, at: 5_500, text: 'welcome' })], notices, []);
    expect(items.map(itemText)).toEqual([
      'ada is joining',
      'brian is joining',
      'chen is joining',
      'ada, brian and chen joined',
      'zed can no longer read',
      'welcome',
      'dora joined',
    ]);
    expect(items[3]).toMatchObject({
      key: noticeKey(joined('ada')),
      nicks: ['ada', 'brian', 'chen'],
    });
    expect(items[6]).not.toHaveProperty('nicks');
    // A joiner of the batch sees itself first; the same seq in another epoch (a message
    // between) is another event.
    const mine = buildTimeline(
      [message({ seq: 20, at: 5_500 })],
      [
        notice({ seq: 20, kind: 'joined', nick: 'brian', text: 'you joined the room', at: 5_000 }),
        joined('ada'),
        joined('chen'),
        joined('ada', 20, 9_000),
      ],
      [],
      [],
      'brian',
    );
    expect(mine.map(itemText)).toEqual([
      'you joined the room with ada and chen',
      'hi',
      'ada joined',
    ]);
    // Notices outside an event (seq 0) never merge.
    const loose = buildTimeline([], [joined('ada', 0, 1), joined('bob', 0, 2)], []);
    expect(loose.map(itemText)).toEqual(['ada joined', 'bob joined']);
  });

  it('marks senders verified only for the verified key, and flags key changes', () => {
    const keys = (k: KnownKey) => new Map([[k.nick, k]]);
    expect(markFor(message({ own: true }), keys(key({})))).toBe('self');
    expect(markFor(message({}), new Map())).toBe('unverified');
    expect(markFor(message({}), keys(key({ verified: true })))).toBe('verified');
    expect(markFor(message({ fingerprint: '99999' }), keys(key({ verified: true })))).toBe(
      'unverified',
    );
    expect(markFor(message({}), keys(key({ verified: true, pendingFingerprint: '3' })))).toBe(
      'key-changed',
    );
  });

  it('merges pages and live events without duplicates', () => {
    const merged = mergeUnique([1, 2, 3], [3, 4, 2, 5], String);
    expect(merged).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('format', () => {
  it('shortens fingerprints and splits digit groups into rows', () => {
    const fp = '12345 67890 13579 24680 11223 44556';
    expect(shortFingerprint(fp)).toBe('12345 67890');
    expect(shortFingerprint(null)).toBe('no key yet');
    expect(digitRows(fp, 4)).toEqual(['12345 67890 13579 24680', '11223 44556']);
  });

  it('describes ages, counts and progress', () => {
    expect(age(1, 42_001)).toBe('42s');
    expect(age(1, 125_001)).toBe('2m 5s');
    expect(age(1, 3 * 3_600_000 + 60_001)).toBe('3h 1m');
    expect(age(10, 0)).toBe('0s');
    expect(age(0, 5_000)).toBe('—');
    expect(countsText(counts(1, 2, 3))).toBe('auth 1/2 · shares 2/3 · confirmed 3/3');
    expect(progressFraction(counts(2, 3, 3))).toBe(1);
    const none = { have: 0, need: 0 };
    expect(progressFraction({ tokens: none, shares: none, confirmations: none })).toBe(0);
  });

  it('names sessions by what they change', () => {
    expect(sessionTitle(session({}), ['alice', 'bob'])).toBe('Join of carol');
    expect(sessionTitle(session({ history: [] }), ['alice', 'bob'])).toBe('Join of carol');
    expect(sessionTitle(session({ kind: 'leave', members: ['alice'] }), ['alice', 'bob'])).toBe(
      'Leave of bob',
    );
    expect(sessionTitle(session({ kind: 'genesis' }), [])).toBe('Room founded');
  });

  it('says who joins together, and who joined', () => {
    expect(nameList(['ada'])).toBe('ada');
    expect(nameList(['ada', 'brian'])).toBe('ada and brian');
    expect(nameList(['ada', 'brian', 'chen', 'dora'])).toBe('ada, brian, chen and dora');
    expect(nameList(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('a, b, c and 4 others');
    expect(joinedText(['ada'], null)).toBe('ada joined');
    expect(joinedText(['ada', 'brian'], 'zed')).toBe('ada and brian joined');
    expect(joinedText(['ada', 'brian', 'chen'], null)).toBe('ada, brian and chen joined');
    expect(joinedText(['a', 'b', 'c', 'd', 'e', 'f', 'g'], null)).toBe(
      'a, b, c and 4 others joined',
    );
    expect(joinedText(['ada'], 'ada')).toBe('you joined the room');
    expect(joinedText(['ada', 'brian', 'chen'], 'brian')).toBe(
      'you joined the room with ada and chen',
    );
    expect(joiningHeadline(['ada'], 'alice')).toBe('ada is joining');
    expect(joiningHeadline(['ada', 'brian', 'chen'], 'alice')).toBe('3 people are joining');
    expect(joiningHeadline(['ada'], 'ada')).toBe('You are joining');
    expect(joiningHeadline(['ada', 'brian'], 'ada')).toBe('You and 1 other are joining');
    expect(joiningHeadline(['ada', 'brian', 'chen'], 'chen')).toBe('You and 2 others are joining');
    const batch = session({
      kind: 'batch',
      members: ['alice', 'ada', 'brian', 'chen'],
      joiners: ['ada', 'brian', 'chen'],
      progress: counts(4, 2, 0, 4),
    });
    expect(batchProgressText(batch, ['alice'], 'alice')).toBe(
      '3 people are joining: auth 4/3 · shares 2/4 · confirmed 0/4',
    );
    expect(batchProgressText(batch, ['alice'], 'ada')).toBe(
      'You and 2 others are joining: auth 4/3 · shares 2/4 · confirmed 0/4',
    );
    expect(sessionTitle(batch, ['alice'])).toBe('Join of ada, brian, chen together');
    expect(sessionTitle({ ...batch, joiners: ['chen'] }, ['alice'])).toBe('Join of chen together');
  });

  it('tells a draining former current session from a pending one', () => {
    expect(isDraining(session({}))).toBe(false);
    expect(
      isDraining(
        session({
          history: [
            { status: 'in-limbo', reason: 'created', seq: 1, at: 0 },
            { status: 'current', reason: 'confirmed', seq: 2, at: 0 },
            { status: 'in-limbo', reason: 'superseded', seq: 3, at: 0 },
          ],
        }),
      ),
    ).toBe(true);
  });

  it('lists a live batch but not the one-joiner joins it covers', () => {
    const parent = ['alice', 'bob'];
    const join = (nick: string) =>
      session({
        sid: nick.padEnd(64, '0'),
        members: [...parent, nick],
        reason: `join of ${nick}`,
        history: [{ status: 'in-limbo', reason: `join of ${nick}`, seq: 5, at: 1_000 }],
      });
    const batch = session({
      sid: 'b'.repeat(64),
      kind: 'batch',
      members: [...parent, 'ada', 'brian'],
      joiners: ['ada', 'brian'],
      reason: 'batch of 2',
      history: [{ status: 'in-limbo', reason: 'batch of 2', seq: 6, at: 1_000 }],
    });
    const leave = session({ sid: 'l'.repeat(64), kind: 'leave', members: ['alice'] });
    const sids = (list: SessionView[]) => list.map((s) => s.sid[0]);
    // While the batch is in limbo, only the joins of people it does not admit stay listed.
    expect(
      sids(changesInProgress([join('ada'), batch, join('brian'), join('chen'), leave], parent)),
    ).toEqual(['b', 'c', 'l']);
    // A join without a reason is matched by the member its parent lacks.
    expect(sids(changesInProgress([{ ...join('ada'), history: [] }, batch], parent))).toEqual([
      'b',
    ]);
    // Without a live batch (none, draining, or no longer in limbo) the joins are the list.
    expect(sids(changesInProgress([join('ada'), join('brian')], parent))).toEqual(['a', 'b']);
    const draining = {
      ...batch,
      history: [
        { status: 'in-limbo' as const, reason: 'batch of 2', seq: 6, at: 0 },
        { status: 'current' as const, reason: 'confirmed', seq: 7, at: 0 },
        { status: 'in-limbo' as const, reason: 'superseded', seq: 8, at: 0 },
      ],
    };
    expect(sids(changesInProgress([join('ada'), draining], parent))).toEqual(['a']);
    const current = { ...batch, status: 'current' as const };
    expect(sids(changesInProgress([join('ada'), current], parent))).toEqual(['a']);
    // Sessions not in limbo, and draining ones, are never listed.
    expect(changesInProgress([{ ...join('ada'), status: 'current' }], parent)).toEqual([]);
  });
});
