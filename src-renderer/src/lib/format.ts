// Small display helpers shared by components. Pure functions, unit-tested.
import type { ProgressCounts, SessionView } from '../../../src-shared/api';

export function shortSid(sid: string): string {
  return sid.slice(0, 8);
}

/** The first groups of a fingerprint, enough to recognise it at a glance. */
export function shortFingerprint(fp: string | null, groups = 2): string {
  if (!fp) return 'no key yet';
  return fp.split(' ').slice(0, groups).join(' ');
}

/** Splits a fingerprint or safety number into rows of `perRow` digit groups. */
export function digitRows(value: string, perRow: number): string[] {
  const groups = value.split(' ').filter(Boolean);
  const rows: string[] = [];
  for (let i = 0; i < groups.length; i += perRow) rows.push(groups.slice(i, i + perRow).join(' '));
  return rows;
}

export function age(since: number, now: number): string {
  // Sessions learnt from a state transfer carry no local creation time.
  if (since <= 0) return '—';
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function countsText(p: ProgressCounts): string {
  return (
    `auth ${p.tokens.have}/${p.tokens.need} · shares ${p.shares.have}/${p.shares.need} · ` +
    `confirmed ${p.confirmations.have}/${p.confirmations.need}`
  );
}

/** Fraction of the contributions a session has collected, 0..1. */
export function progressFraction(p: ProgressCounts): number {
  const need = p.tokens.need + p.shares.need + p.confirmations.need;
  if (need === 0) return 0;
  const have =
    Math.min(p.tokens.have, p.tokens.need) +
    Math.min(p.shares.have, p.shares.need) +
    Math.min(p.confirmations.have, p.confirmations.need);
  return have / need;
}

/** An in-limbo session that was current before: it only drains late messages now. */
export function isDraining(s: SessionView): boolean {
  return s.status === 'in-limbo' && s.history.some((h) => h.status === 'current');
}

/** A short human title; `parentMembers` are the members of the session this one builds on. */
export function sessionTitle(s: SessionView, parentMembers: readonly string[]): string {
  switch (s.kind) {
    case 'genesis':
      return 'Room founded';
    case 'join': {
      const who = joinJoiner(s, parentMembers);
      return who ? `Join of ${who}` : 'Join';
    }
    case 'batch': {
      const joining = batchJoiners(s, parentMembers);
      return joining.length > 0 ? `Join of ${joining.join(', ')} together` : 'Joins together';
    }
    case 'leave': {
      const gone = parentMembers.filter((m) => !s.members.includes(m));
      return gone.length > 0 ? `Leave of ${gone.join(', ')}` : 'Leave';
    }
    case 'rekey':
      return 'New keys';
  }
}

/** A one-joiner join session's joiner: as its first reason names them, else the member its parent lacks. */
export function joinJoiner(s: SessionView, parentMembers: readonly string[]): string | undefined {
  return (
    s.history[0]?.reason.match(/join of (\S+)/)?.[1] ??
    s.members.find((m) => !parentMembers.includes(m))
  );
}

/**
 * The "Changes in progress" list: the sessions in limbo that are not draining, less the
 * one-joiner join sessions whose joiner a listed batch session admits (they are the batch's
 * fallback; the batch's line already shows those joiners' progress).
 */
export function changesInProgress(
  sessions: readonly SessionView[],
  parentMembers: readonly string[],
): SessionView[] {
  const live = sessions.filter((s) => s.status === 'in-limbo' && !isDraining(s));
  const batched = new Set(
    live.filter((s) => s.kind === 'batch').flatMap((s) => batchJoiners(s, parentMembers)),
  );
  if (batched.size === 0) return live;
  return live.filter((s) => {
    if (s.kind !== 'join') return true;
    const who = joinJoiner(s, parentMembers);
    return who === undefined || !batched.has(who);
  });
}

/** A batch session's joiners: as the runtime names them, else the members its parent lacks. */
export function batchJoiners(s: SessionView, parentMembers: readonly string[]): string[] {
  return s.joiners ?? s.members.filter((m) => !parentMembers.includes(m));
}

/** Names the way people say them: "ada", "ada and brian", "ada, brian and chen". */
export function nameList(nicks: readonly string[], max = 4): string {
  if (nicks.length === 0) return '';
  // Past `max` names, the first three and a count: "ada, brian, chen and 4 others".
  const shown = nicks.length > max ? nicks.slice(0, 3) : nicks.slice(0, -1);
  const rest = nicks.length > max ? `${nicks.length - 3} others` : nicks[nicks.length - 1];
  return shown.length === 0 ? String(rest) : `${shown.join(', ')} and ${rest}`;
}

/**
 * The timeline's line for members who joined at one event (a batch admits several at once):
 * "ada joined", "ada, brian and chen joined"; `self` among them reads "you joined the room with …".
 */
export function joinedText(nicks: readonly string[], self: string | null): string {
  const others = nicks.filter((n) => n !== self);
  if (others.length === nicks.length) return `${nameList(nicks)} joined`;
  return others.length === 0
    ? 'you joined the room'
    : `you joined the room with ${nameList(others)}`;
}

/** Who is arriving in one join: "ada is joining", "3 people are joining", "You and 2 others are joining". */
export function joiningHeadline(joiners: readonly string[], self: string | null): string {
  const others = joiners.filter((n) => n !== self).length;
  if (others === joiners.length) {
    return joiners.length === 1
      ? `${joiners[0]} is joining`
      : `${joiners.length} people are joining`;
  }
  if (others === 0) return 'You are joining';
  return `You and ${others} other${others === 1 ? '' : 's'} are joining`;
}

/** A batch's progress in one line: "3 people are joining: auth 4/6 · shares 2/4 · confirmed 0/4". */
export function batchProgressText(
  s: SessionView,
  parentMembers: readonly string[],
  self: string | null,
): string {
  return `${joiningHeadline(batchJoiners(s, parentMembers), self)}: ${countsText(s.progress)}`;
}
