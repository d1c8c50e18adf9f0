// Random schedules over the in-memory relay, and the invariants of docs/PROTOCOL.md section 8
// checked at the end of each. Used by the property tests and by `npm run simulate`.
import type { AppEvent } from '../protocol/events';
import type { AdversaryKind } from './adversary';
import { ADVERSARY_KINDS, adversaryTamper } from './adversary';
import type { SimClient } from './relay';
import { SimRelay } from './relay';

export { xorshift } from './random';

export type Behaviour = 'honest' | 'silent' | 'noisy' | Exclude<AdversaryKind, 'drop'>;

export type Action =
  | { kind: 'join'; name: string; behaviour: Behaviour }
  /** The relay withholds the next message event from one client, once (a gap it must see). */
  | { kind: 'withhold'; pick: number }
  | { kind: 'disconnect'; pick: number }
  | { kind: 'leave'; pick: number; listen: boolean }
  | { kind: 'chat'; pick: number }
  | { kind: 'step'; count: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'garbage'; pick: number; bytes: number };

export interface ScheduleOptions {
  clients: number;
  misbehaving?: boolean;
  /**
   * Exactly one adversary of this kind among otherwise honest clients (`mixed`: a kind drawn per
   * schedule); `drop` is a relay that withholds frames from single clients.
   */
  adversary?: AdversaryKind | 'mixed';
}

/**
 * The bound of docs/PROTOCOL.md "Accountability" in the simulator's timers (limbo 5 s, stall
 * 2 s, join retry 4 s): limbo + stall + one join retry (a joiner whose attempt a blame round
 * ended asks again at once, one whose request came while no session could be built retries).
 */
export const SIM_BOUND_MS = 5_000 + 2_000 + 4_000;

/** A random schedule: every client joins at some point, with leaves, chat and noise between. */
export function randomSchedule(random: () => number, opts: ScheduleOptions): Action[] {
  const actions: Action[] = [];
  const pick = () => Math.floor(random() * 1_000_000);
  const kind: AdversaryKind | null =
    opts.adversary === 'mixed'
      ? (ADVERSARY_KINDS[Math.floor(random() * ADVERSARY_KINDS.length)] as AdversaryKind)
      : (opts.adversary ?? null);
  const adversaryAt = kind ? 1 + Math.floor(random() * (opts.clients - 1)) : -1;
  for (let i = 0; i < opts.clients; i++) {
    const roll = random();
    let behaviour: Behaviour =
      !kind && opts.misbehaving && i > 1 && roll < 0.1
        ? 'silent'
        : !kind && opts.misbehaving && roll < 0.2
          ? 'noisy'
          : 'honest';
    if (i === adversaryAt && kind !== 'drop' && kind) behaviour = kind;
    actions.push({ kind: 'join', name: `c${i}`, behaviour });
    if (kind === 'drop' && random() < 0.6) actions.push({ kind: 'withhold', pick: pick() });
    const extra = Math.floor(random() * 3);
    for (let e = 0; e < extra; e++) {
      const r = random();
      if (r < 0.35) actions.push({ kind: 'step', count: 1 + Math.floor(random() * 20) });
      else if (r < 0.55) actions.push({ kind: 'chat', pick: pick() });
      else if (r < 0.65) actions.push({ kind: 'disconnect', pick: pick() });
      else if (r < 0.72) actions.push({ kind: 'leave', pick: pick(), listen: random() < 0.5 });
      else if (r < 0.9) actions.push({ kind: 'wait', ms: Math.floor(random() * 8_000) });
      else actions.push({ kind: 'garbage', pick: pick(), bytes: Math.floor(random() * 200) });
    }
  }
  return actions;
}

interface Roles {
  silent: Set<string>;
  /** Clients that misbehave on purpose: the only ones anyone may blame. */
  adversaries: Set<string>;
  /** Members' departures and joiners' arrivals, for the bound: nick -> seq. */
  joins: Map<string, number>;
  leaves: Map<string, number>;
  listeners: Map<string, number>; // left voluntarily, still connected: nick -> seq of LEAVE
}

export interface ScheduleResult {
  violations: string[];
  members: string[];
  events: number;
  /** Joiners admitted (in any client's first view of them as members), and by a batch. */
  admitted: number;
  admittedInBatch: number;
}

/** Who got in, and how: the session in which each client first appears as a member. */
function admissions(relay: SimRelay): { admitted: number; admittedInBatch: number } {
  let admitted = 0;
  let admittedInBatch = 0;
  for (const c of relay.clients.values()) {
    const first = c.events.find(
      (e) => e.type === 'session' && e.status === 'current' && e.members.includes(c.nick),
    );
    if (!first || first.type !== 'session' || first.kind === 'genesis') continue;
    admitted++;
    if (first.kind === 'batch') admittedInBatch++;
  }
  return { admitted, admittedInBatch };
}

/** Connected members that misbehave in no way and are not on their way out. */
function honestMembers(relay: SimRelay, roles: Roles): SimClient[] {
  return relay
    .connected()
    .filter(
      (c) =>
        c.engine.isMember &&
        !roles.silent.has(c.nick) &&
        !roles.adversaries.has(c.nick) &&
        !roles.listeners.has(c.nick),
    );
}

function chooseMember(relay: SimRelay, pick: number, roles: Roles): SimClient | null {
  const members = honestMembers(relay, roles);
  return members.length ? (members[pick % members.length] as SimClient) : null;
}

/**
 * With an adversary, the last honest member never leaves: a room held by the adversary alone
 * has nobody honest to admit anyone (docs/PROTOCOL.md "Accountability", what is not bounded).
 */
function mayDepart(relay: SimRelay, c: SimClient, roles: Roles): boolean {
  return roles.adversaries.size === 0 || honestMembers(relay, roles).some((x) => x !== c);
}

/** A live room at this moment: some honest member is not on its way out. */
function roomIsLive(relay: SimRelay, roles: Roles): boolean {
  return honestMembers(relay, roles).some((x) => !x.engine.pending.leavers.includes(x.nick));
}

export function runSchedule(actions: Action[], seed: string): ScheduleResult {
  const relay = new SimRelay(seed);
  const roles: Roles = {
    silent: new Set(),
    adversaries: new Set(),
    joins: new Map(),
    leaves: new Map(),
    listeners: new Map(),
  };
  let chatCounter = 0;
  for (const a of actions) {
    switch (a.kind) {
      case 'join': {
        // The bound runs from a request made to a live room (a founder waits on purpose).
        const live = roomIsLive(relay, roles);
        const c = relay.join(a.name, { silent: a.behaviour === 'silent' });
        if (live) roles.joins.set(c.nick, relay.log.length);
        if (a.behaviour === 'silent') roles.silent.add(c.nick);
        if (a.behaviour !== 'honest' && a.behaviour !== 'silent' && a.behaviour !== 'noisy') {
          c.tamper = adversaryTamper(a.behaviour, c);
          roles.adversaries.add(c.nick);
        }
        break;
      }
      case 'withhold': {
        const targets = relay.connected();
        const c = targets[a.pick % Math.max(1, targets.length)];
        const next = c && relay.log.find((e) => e.seq > c.cursor + 1 && e.kind === 'message');
        if (c && next) c.drop.add(next.seq);
        else if (c) c.drop.add(relay.log.length + 1 + (a.pick % 5));
        break;
      }
      case 'disconnect': {
        const c = chooseMember(relay, a.pick, roles);
        if (c && relay.connected().length > 1 && mayDepart(relay, c, roles)) {
          relay.disconnect(c.nick);
          roles.leaves.set(c.nick, relay.log.length);
        }
        break;
      }
      case 'leave': {
        const c = chooseMember(relay, a.pick, roles);
        if (!c || !mayDepart(relay, c, roles)) break;
        relay.command(c.nick, { kind: 'leave', at: relay.clock });
        roles.leaves.set(c.nick, relay.log.length);
        if (a.listen) roles.listeners.set(c.nick, relay.log.length);
        else relay.disconnect(c.nick);
        break;
      }
      case 'chat': {
        const c = chooseMember(relay, a.pick, roles);
        if (c) relay.say(c.nick, `m${chatCounter++}`);
        break;
      }
      case 'step':
        relay.stepSome(a.count);
        break;
      case 'wait':
        relay.settle(a.ms);
        break;
      case 'garbage': {
        const c = chooseMember(relay, a.pick, roles);
        if (!c) break;
        const bytes = new Uint8Array(a.bytes);
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(relay.random() * 256);
        if (bytes.length > 2) bytes[0] = 1;
        relay.inject(c.nick, bytes);
        // and a replay of an earlier message of the same sender
        const earlier = relay.log.filter((e) => e.kind === 'message' && e.nick === c.nick);
        const old = earlier[Math.floor(relay.random() * earlier.length)];
        if (old && old.kind === 'message') relay.inject(c.nick, old.data);
        break;
      }
    }
  }
  // A client that left stops listening eventually (a real one leaves the relay room at once);
  // until now it has been reading, which is what invariant 4 below examines.
  relay.settle(10_000);
  for (const nick of roles.listeners.keys()) relay.disconnect(nick);
  relay.settle(600_000);
  const violations = checkInvariants(relay, roles);
  return { violations, members: [], events: relay.log.length, ...admissions(relay) };
}

/**
 * The invariants of docs/PROTOCOL.md section 8, in this order: invariant 2 runs only on a
 * converged room, and its final round of messages is part of what 3 to 5 and the accountability
 * checks read.
 */
function checkInvariants(relay: SimRelay, roles: Roles): string[] {
  const honest = honestConnected(relay, roles);
  const violations = convergenceViolations(honest, roles);
  if (violations.length === 0 && honest.length > 0 && !heldByAdversaries(honest, roles)) {
    violations.push(...finalRoundViolations(relay, honest));
  }
  violations.push(
    ...noCurrentAfterLeaveViolations(honest, roles),
    ...departedReadsNothingViolations(relay, roles, honest),
    ...sessionOrderViolations(honest),
    ...batchReadViolations(honest),
    ...accountabilityViolations(relay, roles, honest),
  );
  return violations;
}

type SessionEvent = Extract<AppEvent, { type: 'session' }>;
type MessageEvent = Extract<AppEvent, { type: 'message' }>;

/**
 * Batch admission (docs/PROTOCOL.md "Batch admission"): a joiner reads nothing sent before the
 * session that admitted it became current, and a batch's joiner reads every message any other
 * honest participant read under that batch session.
 */
function batchReadViolations(honest: SimClient[]): string[] {
  const violations: string[] = [];
  const read = (c: SimClient, sid: string) =>
    c.events.filter((e): e is MessageEvent => e.type === 'message' && e.sid === sid);
  for (const j of honest) {
    const admitted = j.events.find(
      (e): e is SessionEvent =>
        e.type === 'session' && e.status === 'current' && e.members.includes(j.nick),
    );
    if (!admitted || admitted.kind === 'genesis') continue;
    const early = j.events.find((e) => e.type === 'message' && e.seq < admitted.seq);
    if (early) violations.push(`${j.nick} read a message from before its admission`);
    if (admitted.kind !== 'batch' || !admitted.joiners?.includes(j.nick)) continue;
    const mine = new Set(read(j, admitted.sid).map((m) => m.seq));
    for (const other of honest) {
      if (other === j || !admitted.members.includes(other.nick)) continue;
      const missed = read(other, admitted.sid).filter((m) => !mine.has(m.seq));
      if (missed.length > 0) {
        violations.push(`${j.nick} missed ${missed.length} message(s) of its batch session`);
      }
    }
  }
  return violations;
}

/** Connected clients that misbehave in no way and did not leave (members or not). */
function honestConnected(relay: SimRelay, roles: Roles): SimClient[] {
  return relay
    .connected()
    .filter(
      (c) =>
        !roles.silent.has(c.nick) && !roles.listeners.has(c.nick) && !roles.adversaries.has(c.nick),
    );
}

/**
 * Every honest client agrees on a current session whose members are all adversaries: the room is
 * held by the adversary alone. mayDepart keeps the last honest member in while an adversary is
 * there, but an adversary that arrives after the last honest member left may found the room
 * alone (rule 5): then nobody honest can admit anyone, which no protocol can change
 * (docs/PROTOCOL.md "Accountability", the bound).
 */
function heldByAdversaries(honest: SimClient[], roles: Roles): boolean {
  const first = honest[0]?.engine.current;
  if (!first || honest.some((c) => c.engine.current?.sid !== first.sid)) return false;
  return first.members.every((m) => roles.adversaries.has(m));
}

/** 1. Convergence: one current sid, the same members, all honest connected clients in it. */
function convergenceViolations(honest: SimClient[], roles: Roles): string[] {
  const violations: string[] = [];
  const sids = new Set(honest.map((c) => c.engine.current?.sid ?? 'none'));
  if (sids.size > 1)
    violations.push(`honest clients disagree on the current session (${sids.size} sids)`);
  if (heldByAdversaries(honest, roles)) return violations; // they agree; nobody can admit them
  const expected = honest.map((c) => c.nick).sort();
  for (const c of honest) {
    if (!c.engine.isMember) violations.push(`${c.nick} (honest, connected) is not a member`);
    // An adversary that has not (yet) misbehaved may still be in the room: the same sid for
    // every honest client already says they agree on it.
    const members = [...(c.engine.current?.members ?? [])]
      .filter((m) => !roles.adversaries.has(m))
      .sort();
    if (JSON.stringify(members) !== JSON.stringify(expected)) {
      violations.push(
        `${c.nick} sees members [${members.join(',')}], expected [${expected.join(',')}]`,
      );
    }
  }
  return violations;
}

/** 2. Everyone can read each other's new messages: each says one more, all read all of them. */
function finalRoundViolations(relay: SimRelay, honest: SimClient[]): string[] {
  const violations: string[] = [];
  const before = new Map(honest.map((c) => [c.nick, c.events.length]));
  for (const c of honest) relay.say(c.nick, `final from ${c.nick}`);
  relay.settle(1_000);
  for (const c of honest) {
    const got = c.events
      .slice(before.get(c.nick))
      .flatMap((e) => (e.type === 'message' ? [e.text] : []))
      .sort();
    const want = honest.map((h) => `final from ${h.nick}`).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      violations.push(`${c.nick} read [${got.join('|')}] of the final round`);
    }
  }
  return violations;
}

/** 3. No session containing a departed member becomes current after its leave. */
function noCurrentAfterLeaveViolations(honest: SimClient[], roles: Roles): string[] {
  const violations: string[] = [];
  for (const c of honest) {
    for (const [leaver, leaveSeq] of roles.listeners) {
      for (const e of c.events) {
        if (
          e.type === 'session' &&
          e.status === 'current' &&
          e.seq > leaveSeq &&
          e.members.includes(leaver as never)
        ) {
          violations.push(`${c.nick}: session with ${leaver} became current after its leave`);
        }
      }
    }
  }
  return violations;
}

/** 4. A departed member reads nothing sent in a session without it. */
function departedReadsNothingViolations(
  relay: SimRelay,
  roles: Roles,
  honest: SimClient[],
): string[] {
  const violations: string[] = [];
  for (const [leaver] of roles.listeners) {
    const l = relay.client(leaver);
    const withoutLeaver = new Set<number>();
    for (const c of honest) {
      for (const e of c.events) {
        const s = e.type === 'message' ? c.engine.sessions.get(e.sid) : undefined;
        if (e.type === 'message' && s && !s.indexByNick.has(l.nick)) withoutLeaver.add(e.seq);
      }
    }
    for (const e of l.events) {
      if (e.type === 'message' && withoutLeaver.has(e.seq)) {
        violations.push(`${leaver} read seq ${e.seq}, sent in a session without it`);
      }
    }
    for (const e of l.events) {
      if (e.type === 'message') {
        const s = l.engine.sessions.get(e.sid);
        if (s && !s.indexByNick.has(l.nick))
          violations.push(`${leaver} decrypted a message of a session without it`);
      }
    }
  }
  return violations;
}

/** 5. Honest clients agree on the order of current sessions over the seqs they both followed. */
function sessionOrderViolations(honest: SimClient[]): string[] {
  const violations: string[] = [];
  const timeline = (c: SimClient) =>
    c.events.flatMap((e) =>
      e.type === 'session' && e.status === 'current' ? [{ seq: e.seq, sid: e.sid }] : [],
    );
  const reference = honest[0];
  if (!reference) return violations;
  const ref = timeline(reference);
  for (const c of honest.slice(1)) {
    const mine = timeline(c);
    const from = Math.max(ref[0]?.seq ?? Infinity, mine[0]?.seq ?? Infinity);
    const a = ref.filter((x) => x.seq >= from).map((x) => `${x.seq}:${x.sid}`);
    const b = mine.filter((x) => x.seq >= from).map((x) => `${x.seq}:${x.sid}`);
    if (a.join() !== b.join())
      violations.push(`${c.nick} and ${reference.nick} saw different current sessions`);
  }
  return violations;
}

/**
 * Issue 11's invariants: nobody honest is ever blamed, every honest joiner is admitted within the
 * bound of its request, and every departure completes within the bound, as every honest client
 * saw it. Times are the simulator's clock at the ordered events. The bounds hold with at most
 * one misbehaving client.
 */
function accountabilityViolations(relay: SimRelay, roles: Roles, honest: SimClient[]): string[] {
  const violations = noHonestBlamedViolations(relay, roles);
  if (roles.adversaries.size + roles.silent.size > 1) return violations;
  if (heldByAdversaries(honest, roles)) return violations;
  const clock = boundClock(relay);
  violations.push(
    ...admissionBoundViolations(clock, roles, honest),
    ...departureBoundViolations(clock, roles, honest),
  );
  return violations;
}

/** Nobody honest is ever blamed, as any client that is not blamable itself saw it. */
function noHonestBlamedViolations(relay: SimRelay, roles: Roles): string[] {
  const violations: string[] = [];
  const blamable = new Set([...roles.adversaries, ...roles.silent]);
  for (const c of relay.clients.values()) {
    if (blamable.has(c.nick)) continue;
    for (const e of c.events) {
      if (e.type === 'blame' && !blamable.has(e.nick)) {
        violations.push(`${c.nick}: honest ${e.nick} blamed (${e.cause}) at seq ${e.seq}`);
      }
    }
  }
  return violations;
}

type CurrentEvent = Extract<AppEvent, { type: 'session' }>;

/** What the bound checks read off the run: times of seqs, current sessions, refoundings. */
interface BoundClock {
  at: (seq: number) => number;
  currents: (c: SimClient) => CurrentEvent[];
  /** A room founded anew in between (every member had gone): a founder waits on purpose. */
  refounded: (from: number, to: number) => boolean;
}

function boundClock(relay: SimRelay): BoundClock {
  const at = (seq: number) => relay.log[seq - 1]?.at ?? relay.clock;
  const currents = (c: SimClient) =>
    c.events.filter((e): e is CurrentEvent => e.type === 'session' && e.status === 'current');
  const geneses = [...relay.clients.values()].flatMap((c) =>
    currents(c)
      .filter((e) => e.kind === 'genesis')
      .map((e) => e.seq),
  );
  const refounded = (from: number, to: number) => geneses.some((g) => g > from && g <= to);
  return { at, currents, refounded };
}

/** Every honest joiner is admitted within the bound of its request. */
function admissionBoundViolations(clock: BoundClock, roles: Roles, honest: SimClient[]): string[] {
  const violations: string[] = [];
  for (const j of honest) {
    const requested = roles.joins.get(j.nick);
    const admitted = clock.currents(j).find((e) => e.members.includes(j.nick));
    if (requested === undefined || !admitted) continue; // convergence (1) reports it
    if (clock.refounded(requested, admitted.seq)) continue;
    const took = clock.at(admitted.seq) - clock.at(requested);
    if (took > SIM_BOUND_MS) {
      violations.push(`${j.nick} admitted ${took} ms after its request (bound ${SIM_BOUND_MS})`);
    }
  }
  return violations;
}

/** Every departure completes within the bound, as the first honest client saw it. */
function departureBoundViolations(clock: BoundClock, roles: Roles, honest: SimClient[]): string[] {
  const violations: string[] = [];
  const reference = honest[0];
  if (!reference) return violations;
  for (const [leaver, seq] of [...roles.leaves, ...roles.listeners]) {
    if (seq < (roles.joins.get(reference.nick) ?? 0)) continue;
    const done = clock
      .currents(reference)
      .find((e) => e.seq > seq && !e.members.includes(leaver as never));
    if (!done || clock.refounded(seq, done.seq)) continue;
    const took = clock.at(done.seq) - clock.at(seq);
    if (took > SIM_BOUND_MS) {
      violations.push(
        `the departure of ${leaver} completed after ${took} ms (bound ${SIM_BOUND_MS})`,
      );
    }
  }
  return violations;
}
