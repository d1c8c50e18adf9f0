// Batch admission (issue 13) through the client: a room runner fed the engine events of a batch
// session (synthetic: a scripted engine stands in for the real one, whose batches land
// separately) writes the session with its kind and joiners to the store, shows the joiners
// arriving together in the room state, keeps one 'joined' notice per new member at the batch's
// seq across a restart, and the headless client's lines name the joiners.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent, RoomState } from '../../src-shared/api';
import { engineEventLine, sessionLine } from '../../src-main/client/cli-lines';
import type { RelayEvent } from '../../src-main/client/relay-link';
import { RoomRunner } from '../../src-main/client/room-runner';
import { batchJoiners, sessionView } from '../../src-main/client/views';
import { Crypto, cryptoReady, systemRandom } from '../../src-main/protocol/crypto';
import type { RoomEngine } from '../../src-main/protocol/engine';
import type { AppEvent, Effect, Progress } from '../../src-main/protocol/events';
import { Session } from '../../src-main/protocol/session';
import type { Nick, Participant, Seq, Sid } from '../../src-main/protocol/types';
import { asNick, asSeq } from '../../src-main/protocol/types';
import { openStore, passphraseProtector, type Store } from '../../src-main/store';
import { pollUntil } from './until';

let crypto: Crypto;
let dir: string;

beforeAll(async () => {
  await cryptoReady();
  crypto = new Crypto(systemRandom);
  dir = mkdtempSync(join(tmpdir(), 'conclave-batch-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sidOf = (n: number) => n.toString(16).padStart(2, '0').repeat(32) as Sid;

function participant(nick: string): Participant {
  return { nick: asNick(nick), lt: crypto.signKeyPair().publicKey, eph: new Uint8Array(32) };
}

/** A session whose progress names its joiners (as the engine's batches do), or not (`null`). */
class TestSession extends Session {
  constructor(
    sid: Sid,
    parent: Sid | null,
    kind: Session['kind'],
    participants: Participant[],
    seq: number,
    private readonly named: Nick[] | null,
    private readonly tokens = { have: 4, need: 6 },
  ) {
    // A join session's joiner is its last participant here.
    const joiner = kind === 'join' ? (participants.at(-1)?.nick ?? null) : null;
    super(sid, new Uint8Array(32), parent, kind, participants, joiner, asSeq(seq), 1_000);
    this.record('in-limbo', { kind: 'created', detail: `${kind} session` }, asSeq(seq), 1_000);
  }

  override progress(): Progress {
    const { joiners: _, ...counts } = super.progress();
    const p = { ...counts, tokens: this.tokens };
    return this.named ? { ...p, joiners: [...this.named] } : p;
  }
}

/** Stands in for RoomEngine: answers each input with the effects queued for it. */
class ScriptedEngine {
  readonly sessions = new Map<Sid, Session>();
  current: Session | null = null;
  pending: { joiners: Nick[]; leavers: Nick[] } = { joiners: [], leavers: [] };
  readonly isMember = true;
  readonly joinPhase = 'member';
  next: Effect[] = [];
  handle(): Effect[] {
    const effects = this.next;
    this.next = [];
    return effects;
  }
  toSnapshot(): Uint8Array {
    return new Uint8Array([1]);
  }
}

const event = (e: AppEvent): Effect => ({ type: 'event', event: e });

function sessionEvent(s: Session, seq: number): AppEvent {
  const joiners = s.progress().joiners;
  return {
    type: 'session',
    sid: s.sid,
    status: s.status,
    members: s.members,
    reason: s.history[s.history.length - 1]?.reason ?? '',
    seq: asSeq(seq),
    parent: s.parent,
    kind: s.kind,
    ...(joiners ? { joiners } : {}),
  };
}

interface Harness {
  runner: RoomRunner;
  engine: ScriptedEngine;
  store: Store;
  emitted: ClientEvent[];
  engineEvents: AppEvent[];
  feed(seq: number, effects: Effect[]): Promise<void>;
}

async function harness(path: string): Promise<Harness> {
  const store = await openStore({
    path,
    protector: passphraseProtector('pw', { opsLimit: 1, memLimit: 64 * 1024 }),
  });
  const room = store.upsertRoom({ relayUrl: 'ws://127.0.0.1:1', name: 'ops', nick: 'alice' });
  const emitted: ClientEvent[] = [];
  const engineEvents: AppEvent[] = [];
  const runner = new RoomRunner(room, {
    store,
    crypto,
    identity: crypto.signKeyPair(),
    emit: (e) => emitted.push(e),
    onEngineEvent: (_, e) => engineEvents.push(e),
  });
  const engine = new ScriptedEngine();
  runner.engine = engine as unknown as RoomEngine;
  // The runner's entry for one ordered relay event (private: no relay in this test).
  const onRelayEvent = (
    runner as unknown as { onRelayEvent(e: RelayEvent): Promise<void> }
  ).onRelayEvent.bind(runner);
  const feed = async (seq: number, effects: Effect[]) => {
    engine.next = effects;
    await onRelayEvent({ type: 'message', seq, nick: 'alice', data: new Uint8Array(1), at: seq });
  };
  return { runner, engine, store, emitted, engineEvents, feed };
}

const latestState = (emitted: ClientEvent[]): RoomState | undefined =>
  emitted.flatMap((e) => (e.type === 'room-updated' ? [e.state] : [])).at(-1);

describe('batch sessions in the client', () => {
  it('carries kind and joiners to the store, the room state and the notices', async () => {
    const path = join(dir, 'alice.db');
    const h = await harness(path);
    const roomId = h.runner.room.id;
    const alice = participant('alice');
    const joiners = ['chen', 'ada', 'brian'].map(participant);
    const genesis = new TestSession(sidOf(1), null, 'genesis', [alice], 1, null);
    genesis.transition('current', { kind: 'confirmed-by-all' }, asSeq(1), 1_000);
    h.engine.sessions.set(genesis.sid, genesis);
    h.engine.current = genesis;
    await h.feed(1, [event(sessionEvent(genesis, 1))]);

    // Three join requests, then one batch session for all of them (named out of member order).
    for (const [i, p] of joiners.entries()) {
      h.engine.pending = { joiners: joiners.slice(0, i + 1).map((j) => j.nick), leavers: [] };
      const seq = asSeq(2 + i);
      await h.feed(seq, [
        event({ type: 'member-joining', nick: p.nick, sid: genesis.sid, seq } as AppEvent),
      ]);
    }
    const named = joiners.map((j) => j.nick);
    const batch = new TestSession(sidOf(2), genesis.sid, 'batch', [alice, ...joiners], 5, named);
    h.engine.sessions.set(batch.sid, batch);
    // chen's own join session, the batch's fallback, got further before the batch formed.
    const chenJoin = new TestSession(
      sidOf(3),
      genesis.sid,
      'join',
      [alice, joiners[0] as Participant],
      4,
      null,
      { have: 5, need: 5 },
    );
    h.engine.sessions.set(chenJoin.sid, chenJoin);
    await h.feed(5, [
      event(sessionEvent(batch, 5)),
      event({ type: 'progress', progress: batch.progress(), seq: asSeq(5) }),
    ]);

    expect(h.store.listSessions(roomId).find((s) => s.sid === batch.sid)).toMatchObject({
      kind: 'batch',
      status: 'in-limbo',
      joiners: ['chen', 'ada', 'brian'],
      members: [alice, ...joiners].map((p) => expect.objectContaining({ nick: p.nick })),
    });
    const state = await pollUntil(
      () =>
        latestState(h.emitted)?.sessions.some((s) => s.kind === 'batch') && latestState(h.emitted),
      5_000,
      20,
    );
    expect(state.sessions.find((s) => s.sid === batch.sid)).toMatchObject({
      kind: 'batch',
      joiners: ['chen', 'ada', 'brian'],
    });
    // Each joiner's row shows the progress of the batch admitting it, chen's too: its own join
    // session is further along but waits for the batch.
    for (const nick of named) {
      expect(state.members.find((m) => m.nick === nick)).toMatchObject({
        state: 'joining',
        progress: { tokens: { have: 4, need: 6 }, shares: { need: 4 } },
      });
    }

    // The batch wins: one member-joined per new member, all with its sid and seq.
    batch.transition('current', { kind: 'confirmed-by-all' }, asSeq(6), 1_006);
    genesis.transition('in-limbo', { kind: 'superseded', by: batch.sid }, asSeq(6), 1_006);
    h.engine.current = batch;
    h.engine.pending = { joiners: [], leavers: [] };
    await h.feed(6, [
      event(sessionEvent(batch, 6)),
      event(sessionEvent(genesis, 6)),
      ...named.map((nick) => event({ type: 'member-joined', nick, sid: batch.sid, seq: asSeq(6) })),
    ]);
    const stored = h.store.listSessions(roomId);
    expect(stored.find((s) => s.sid === batch.sid)).toMatchObject({
      status: 'current',
      joiners: ['chen', 'ada', 'brian'],
    });
    expect(stored.find((s) => s.sid === genesis.sid)).toMatchObject({ joiners: null });

    // The headless client's lines for the same engine events.
    const lines = h.engineEvents.map(engineEventLine).filter((l) => l?.['event'] === 'session');
    expect(lines.filter((l) => l?.['kind'] === 'batch')).toEqual([
      expect.objectContaining({ status: 'in-limbo', joiners: ['chen', 'ada', 'brian'], seq: 5 }),
      expect.objectContaining({ status: 'current', joiners: ['chen', 'ada', 'brian'], seq: 6 }),
    ]);
    expect(lines.find((l) => l?.['kind'] === 'genesis')).not.toHaveProperty('joiners');

    // One 'joined' notice per new member at the batch's seq, kept across a restart (the
    // renderer coalesces them into one line: test/app/renderer-logic.test.ts).
    h.runner.close();
    h.store.close();
    const reopened = await openStore({
      path,
      protector: passphraseProtector('pw', { opsLimit: 1, memLimit: 64 * 1024 }),
    });
    const joined = reopened.getNotices(roomId, 100).filter((n) => n.kind === 'joined');
    expect(joined.map((n) => [n.seq, n.nick, n.text])).toEqual([
      [6, 'chen', 'chen joined'],
      [6, 'ada', 'ada joined'],
      [6, 'brian', 'brian joined'],
    ]);
    expect(reopened.listSessions(roomId).find((s) => s.sid === batch.sid)?.joiners).toEqual([
      'chen',
      'ada',
      'brian',
    ]);
    reopened.close();
  });

  it("derives a batch's joiners from its parent when the engine does not name them", () => {
    const alice = participant('alice');
    const bob = participant('bob');
    const parent = new TestSession(sidOf(1), null, 'genesis', [alice], 1, null);
    const batch = new TestSession(sidOf(2), parent.sid, 'batch', [alice, bob], 2, null);
    const lookup = (sid: Sid) => (sid === parent.sid ? parent : undefined);
    expect(batchJoiners(batch, lookup)).toEqual(['bob']);
    expect(sessionView(batch, lookup)).toMatchObject({ kind: 'batch', joiners: ['bob'] });
    // The parent gone: nothing to derive from, an empty list rather than a guess.
    expect(batchJoiners(batch)).toEqual([]);
    // Other kinds have no joiners at all.
    const join = new TestSession(sidOf(3), parent.sid, 'join', [alice, bob], 2, null);
    expect(batchJoiners(join, lookup)).toBeUndefined();
    expect(sessionView(join, lookup)).not.toHaveProperty('joiners');
  });

  it('prints a restored batch session with its joiners, and no joiners for other kinds', () => {
    const base = {
      sid: sidOf(2),
      status: 'current' as const,
      members: ['a', 'b', 'c'],
      reason: 'r',
    };
    expect(
      sessionLine({ ...base, kind: 'batch', joiners: ['b', 'c'] } as const, { restored: true }),
    ).toEqual({ event: 'session', ...base, kind: 'batch', joiners: ['b', 'c'], restored: true });
    expect(sessionLine({ ...base, kind: 'join' } as const)).toEqual({
      event: 'session',
      ...base,
      kind: 'join',
    });
    const seq: Seq = asSeq(3);
    expect(
      engineEventLine({ type: 'member-joined', nick: asNick('b'), sid: sidOf(2), seq }),
    ).toEqual({ event: 'member-joined', nick: 'b', sid: sidOf(2), seq: 3 });
  });
});
