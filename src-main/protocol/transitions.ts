// The one transition table for session statuses (PROTOCOL.md section 5, seed: in-limbo ->
// {in-limbo, dead, current}, current -> in-limbo). Anything not listed is refused with a typed
// "ignored" result; a dead session has no way out.

export type SessionStatus = 'current' | 'in-limbo' | 'dead';

export type TransitionReason =
  | { kind: 'created'; detail: string }
  | { kind: 'confirmed-by-all' }
  | { kind: 'superseded'; by: string }
  | { kind: 'draining-ended' }
  | { kind: 'participant-left'; nick: string }
  | { kind: 'joiner-dropped'; nick: string }
  | { kind: 'obsolete'; detail: string };

const allowed: Record<SessionStatus, readonly SessionStatus[]> = {
  'in-limbo': ['current', 'dead'],
  current: ['in-limbo'],
  dead: [],
};

export type TransitionResult = { ok: true } | { ok: false; ignored: string };

export function checkTransition(from: SessionStatus, to: SessionStatus): TransitionResult {
  if (allowed[from].includes(to)) return { ok: true };
  return { ok: false, ignored: `transition ${from} -> ${to} is not in the table` };
}

export function describeReason(reason: TransitionReason): string {
  switch (reason.kind) {
    case 'created':
      return reason.detail;
    case 'confirmed-by-all':
      return 'confirmed by all participants';
    case 'superseded':
      return `superseded by ${reason.by.slice(0, 12)}`;
    case 'draining-ended':
      return 'draining period ended';
    case 'participant-left':
      return `leave of ${reason.nick}`;
    case 'joiner-dropped':
      return `joiner ${reason.nick} dropped`;
    case 'obsolete':
      return reason.detail;
    default: {
      const never: never = reason;
      return String(never);
    }
  }
}
