// The joiner's own progress through the protocol's steps (PROTOCOL.md 5, rule 5), computed from
// the room state: connect, request sent, members authenticated, key shares, confirmations, in.
import type { ProgressCounts, RoomState, SessionView } from '../../../src-shared/api';
import { batchJoiners, joiningHeadline, nameList } from './format';

export type StepState = 'done' | 'active' | 'pending';

export interface JoinStep {
  id:
    'connect' | 'request' | 'knock' | 'tokens' | 'shares' | 'confirmations' | 'founding' | 'member';
  label: string;
  state: StepState;
  count: { have: number; need: number } | null;
}

export interface JoinProgress {
  headline: string;
  detail: string;
  steps: JoinStep[];
  /** 0..1, for the progress bar. */
  fraction: number;
  /** Admitted in a batch with others: "You and 2 others are joining together: brian and chen". */
  together: string | null;
}

/** Who else the candidate session admits with us, said in one line; null when it is just us. */
export function togetherText(state: RoomState, candidate: SessionView | null): string | null {
  if (candidate?.kind !== 'batch') return null;
  const joiners = batchJoiners(candidate, state.current?.members ?? []);
  const others = joiners.filter((n) => n !== state.nick);
  if (others.length === 0) return null;
  return `${joiningHeadline(joiners, state.nick)} together: ${nameList(others)}`;
}

/** The candidate session furthest along among those that include us. */
export function bestCandidate(state: RoomState): SessionView | null {
  let best: SessionView | null = null;
  let bestScore = -1;
  for (const s of state.sessions) {
    if (s.status !== 'in-limbo' || !s.members.includes(state.nick)) continue;
    const p = s.progress;
    const score = p.tokens.have + p.shares.have + p.confirmations.have;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

function full(c: { have: number; need: number }): boolean {
  return c.need > 0 && c.have >= c.need;
}

/** Null once we are a member (or have left): there is nothing to show then. */
export function joinProgress(state: RoomState): JoinProgress | null {
  const phase = state.phase;
  if (phase === 'member' || phase === 'left') return null;
  const candidate = bestCandidate(state);
  const p: ProgressCounts | null = candidate?.progress ?? null;
  const connected = state.connection === 'connected';
  // Every phase after 'connecting' comes after the JOIN_REQUEST went out.
  const requested = connected && phase !== 'connecting';

  if (phase === 'founding-room') {
    const steps: JoinStep[] = [
      { id: 'connect', label: 'Connected to the relay', state: 'done', count: null },
      { id: 'request', label: 'Join request sent', state: 'done', count: null },
      {
        id: 'founding',
        label: 'No one else here: founding the room',
        state: 'active',
        count: null,
      },
      { id: 'member', label: 'In the room', state: 'pending', count: null },
    ];
    return {
      headline: 'Founding the room',
      detail: state.phaseDetail,
      steps,
      fraction: 0.8,
      together: null,
    };
  }

  if (phase === 'knocking' || phase === 'refused') {
    // A knock room (docs/PROTOCOL.md "Admission policy"): a member lets us in, or not.
    const refused = phase === 'refused';
    const steps: JoinStep[] = [
      { id: 'connect', label: 'Connected to the relay', state: 'done', count: null },
      { id: 'request', label: 'Join request sent', state: 'done', count: null },
      {
        id: 'knock',
        label: refused ? 'Not let in' : 'A member lets you in',
        state: refused ? 'pending' : 'active',
        count: null,
      },
      { id: 'member', label: 'In the room', state: 'pending', count: null },
    ];
    const headline = refused
      ? (state.cannotSend ?? 'You were not let in.')
      : 'Waiting for a member to let you in';
    return { headline, detail: '', steps, fraction: refused ? 0.2 : 0.3, together: null };
  }

  const tokensDone = p ? full(p.tokens) : false;
  const sharesDone = p ? full(p.shares) : false;
  const confirmationsDone = p ? full(p.confirmations) : false;
  const stage = (done: boolean, started: boolean): StepState =>
    done ? 'done' : started ? 'active' : 'pending';
  const steps: JoinStep[] = [
    {
      id: 'connect',
      label: connected ? 'Connected to the relay' : 'Connecting to the relay',
      state: connected ? 'done' : 'active',
      count: null,
    },
    {
      id: 'request',
      label: requested ? 'Join request sent' : 'Sending the join request',
      state: requested ? 'done' : connected ? 'active' : 'pending',
      count: null,
    },
    {
      id: 'tokens',
      label: 'Members authenticated',
      state: stage(tokensDone, requested),
      count: p ? p.tokens : null,
    },
    {
      id: 'shares',
      label: 'Key shares',
      state: stage(sharesDone, tokensDone),
      count: p ? p.shares : null,
    },
    {
      id: 'confirmations',
      label: 'Confirmations',
      state: stage(confirmationsDone, sharesDone),
      count: p ? p.confirmations : null,
    },
    { id: 'member', label: 'In the room', state: 'pending', count: null },
  ];
  const part = (c: { have: number; need: number } | undefined) =>
    c && c.need > 0 ? Math.min(c.have / c.need, 1) : 0;
  const fraction = !connected
    ? 0.05
    : !requested
      ? 0.1
      : !p
        ? 0.2
        : 0.2 + 0.25 * part(p.tokens) + 0.25 * part(p.shares) + 0.25 * part(p.confirmations);
  const headline = !connected
    ? 'Connecting'
    : !requested
      ? 'Asking to join'
      : p
        ? 'Agreeing on a key with the members'
        : phase === 'waiting-for-members'
          ? 'Following the room until the members add you'
          : 'Waiting for the members to answer';
  // The relay link's detail matters while connecting ("connecting to …", a refusal); after that
  // the steps say it all.
  const detail = connected ? '' : state.phaseDetail;
  return {
    headline,
    detail,
    steps,
    fraction: Math.min(fraction, 0.99),
    together: togetherText(state, candidate),
  };
}
