// What the headless client prints (src-main/client/cli.ts): one JSON object per line for each
// engine event a script follows, and for each session of a room's state. Pure, so the lines can
// be tested without a process (test/client/cli-lines.test.ts).
import type { SessionView } from '../../src-shared/api';
import type { AppEvent } from '../protocol/events';

export type Line = Record<string, unknown>;

/** A session's line: a batch session names the joiners it admits (`joiners`), others do not. */
export function sessionLine(
  s: Pick<SessionView, 'sid' | 'status' | 'members' | 'reason' | 'kind' | 'joiners'>,
  extra: Line = {},
): Line {
  return {
    event: 'session',
    sid: s.sid,
    status: s.status,
    members: s.members,
    reason: s.reason,
    ...extra,
    kind: s.kind,
    ...(s.kind === 'batch' ? { joiners: s.joiners ?? [] } : {}),
  };
}

/** The line for an engine event, or null for those the client does not print. */
export function engineEventLine(e: AppEvent): Line | null {
  switch (e.type) {
    case 'session':
      return sessionLine(e, { seq: e.seq, ...(e.restored ? { restored: true } : {}) });
    case 'blame':
      return {
        event: 'blame',
        nick: e.nick,
        cause: e.cause,
        message: e.message,
        sid: e.sid,
        seq: e.seq,
        removed: e.removed,
      };
    case 'blame-round':
      return { event: 'blame-round', sid: e.sid, cause: e.cause, need: e.need, seq: e.seq };
    case 'chat-held':
      return { event: 'chat-held', text: e.text, reason: e.reason };
    case 'chat-released':
      return { event: 'chat-released', sid: e.sid };
    case 'chat-failed':
      return { event: 'chat-failed', text: e.text, reason: e.reason };
    case 'member-joined':
    case 'member-joining':
    case 'member-cannot-read':
      return { event: e.type, nick: e.nick, sid: e.sid, seq: e.seq };
    case 'member-left':
      return { event: 'member-left', nick: e.nick, sid: e.sid, seq: e.seq, reason: e.reason };
    case 'message':
      return {
        event: 'message',
        from: e.from,
        text: e.text,
        sid: e.sid,
        seq: e.seq,
        transcript: e.transcript,
      };
    case 'join-phase':
      return { event: 'join-phase', phase: e.phase, detail: e.detail };
    case 'warning':
      return { event: 'warning', code: e.code, message: e.message };
    case 'admission':
      return {
        event: 'admission',
        policy: e.admission.policy,
        knocks: e.admission.knocks.map((k) => ({ ...k })),
        change: e.change,
        seq: e.seq,
      };
    case 'refused':
      return { event: 'refused', reason: e.reason, message: e.message };
    case 'progress':
    case 'log':
      return null;
  }
}
