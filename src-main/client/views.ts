// What the UI and the headless client see of a room, computed from the engine and the store.
import type {
  BlameView,
  ConnectionState,
  RoomFailure,
  JoinPhase,
  MemberView,
  ProgressCounts,
  RoomState,
  SessionView,
  VerificationView,
} from '../../src-shared/api';
import type { RoomEngine } from '../protocol/engine';
import type { Session } from '../protocol/session';
import type { Nick } from '../protocol/types';
import type { KnownKeyRecord, RoomRecord } from '../store';

/** What a view reads of one running room (RoomRunner provides it; views never import it). */
export interface RoomViewSource {
  readonly id: string;
  readonly engine: RoomEngine;
  readonly room: RoomRecord;
  readonly connection: ConnectionState;
  readonly connectionDetail: string;
  readonly phase: JoinPhase;
  readonly verification: VerificationView | null;
  readonly blames: readonly BlameView[];
  /** Own chat messages held until the room re-keys. */
  readonly heldCount: number;
  /** Set when the room gave up reaching its relay. */
  readonly failure: RoomFailure | null;
  /** Why the room refused to let us in, once it did. */
  readonly refusal: string | null;
  fp(lt: Uint8Array): string;
}

/** How far a session has come: contributions collected. */
function score(s: Session): number {
  const p = s.progress();
  return p.tokens.have + p.shares.have + p.confirmations.have;
}

function counts(s: Session): ProgressCounts {
  const p = s.progress();
  return { tokens: p.tokens, shares: p.shares, confirmations: p.confirmations };
}

/**
 * The joiners a batch session admits (undefined for every other kind): as the engine names them
 * in its progress (the #13 contract), else the members its parent does not have, when the parent
 * is known.
 */
export function batchJoiners(
  s: Session,
  parentOf: (sid: Session['sid']) => Session | undefined = () => undefined,
): Nick[] | undefined {
  if (s.kind !== 'batch') return undefined;
  const named = s.progress().joiners;
  if (named) return [...named];
  const parent = s.parent === null ? undefined : parentOf(s.parent);
  return parent ? s.members.filter((m) => !parent.indexByNick.has(m)) : [];
}

export function sessionView(
  s: Session,
  parentOf?: (sid: Session['sid']) => Session | undefined,
): SessionView {
  const last = s.history[s.history.length - 1];
  const joiners = batchJoiners(s, parentOf);
  return {
    sid: s.sid,
    status: s.status,
    kind: s.kind,
    parent: s.parent,
    members: s.members,
    ...(joiners ? { joiners } : {}),
    reason: last?.reason ?? '',
    createdSeq: s.createdSeq,
    createdAt: s.createdAt,
    progress: counts(s),
    history: s.history.map((h) => ({ ...h })),
  };
}

/** Why the composer is disabled, or null when sending is possible. */
function cannotSendReason(runner: RoomViewSource): string | null {
  const engine = runner.engine;
  if (runner.failure) return 'The room cannot reach its relay: retry or remove it.';
  if (engine.isMember) return null;
  if (engine.joinPhase === 'left') return 'You left this room.';
  if (runner.connection !== 'connected') return 'Not connected to the relay yet.';
  if (engine.joinPhase === 'knocking') return 'Waiting for a member to let you in.';
  if (engine.joinPhase === 'refused') {
    return `You were not let in: ${runner.refusal ?? 'the room refused the request'}.`;
  }
  return 'You are not in the room yet: waiting for the members to admit you.';
}

export function roomStateView(runner: RoomViewSource, keys: readonly KnownKeyRecord[]): RoomState {
  const engine = runner.engine;
  const room = runner.room;
  const current = engine.current;
  const keyOf = new Map(keys.map((k) => [k.nick, k]));
  const pending = engine.pending;
  const members: MemberView[] = [];
  const seen = new Set<string>();
  const add = (
    nick: string,
    state: MemberView['state'],
    progress: ProgressCounts | null,
    lt?: Uint8Array,
  ) => {
    if (seen.has(nick)) return;
    seen.add(nick);
    const known = keyOf.get(nick);
    members.push({
      nick,
      state,
      fingerprint: known?.fingerprint ?? (lt ? runner.fp(lt) : null),
      verified: known?.verified ?? false,
      keyChanged: known?.pending != null,
      progress,
    });
  };
  if (current) {
    for (const p of current.participants) {
      add(p.nick, pending.leavers.includes(p.nick) ? 'leaving' : 'member', null, p.lt);
    }
  }
  const sessions = [...engine.sessions.values()];
  const parentOf = (sid: Session['sid']) => engine.sessions.get(sid);
  const admits = (x: Session, nick: Nick) =>
    x.joiner === nick || (batchJoiners(x, parentOf)?.includes(nick) ?? false);
  const live = sessions.filter((x) => x.status === 'in-limbo' && x.parent === current?.sid);
  for (const nick of pending.joiners) {
    // The batch admitting it with the others while one lives (its own join session is then the
    // fallback, which holds its confirmation), else its own join session: the furthest along.
    const mine = live.filter((x) => admits(x, nick));
    const batches = mine.filter((x) => x.kind === 'batch');
    const s = (batches.length > 0 ? batches : mine).sort((a, b) => score(b) - score(a))[0];
    const lt = s?.participants[s.indexByNick.get(nick) ?? -1]?.lt;
    add(nick, 'joining', s ? counts(s) : null, lt);
  }
  // Members of the previous session who are out of the current one.
  const previous = current?.parent ? engine.sessions.get(current.parent) : undefined;
  for (const p of previous?.participants ?? []) {
    if (!current?.indexByNick.has(p.nick)) add(p.nick, 'cannot-read', null, p.lt);
  }
  const cannotSend = cannotSendReason(runner);
  return {
    id: runner.id,
    room: room.name,
    nick: room.nick,
    relayUrl: room.relayUrl,
    connection: runner.connection,
    phase: runner.phase,
    phaseDetail: runner.connectionDetail,
    current: current ? { sid: current.sid, members: current.members } : null,
    members,
    sessions: sessions
      .map((x) => sessionView(x, parentOf))
      .sort((a, b) => b.createdSeq - a.createdSeq),
    cannotSend,
    failure: runner.failure,
    muted: room.muted,
    verification: runner.verification,
    blames: runner.blames.map((b) => ({ ...b })),
    held: runner.heldCount,
    admission: current ? engine.admissionView : null,
  };
}
