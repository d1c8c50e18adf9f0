// The chat timeline: messages and room notices in one list, in the order this client processed
// them, each message with its sender's verification mark.
import type { ChatMessage, KnownKey, PendingMessage, RoomNotice } from '../../../src-shared/api';

export type Mark = 'self' | 'verified' | 'unverified' | 'key-changed';

export type TimelineItem =
  | { kind: 'message'; key: string; at: number; seq: number; message: ChatMessage; mark: Mark }
  | { kind: 'notice'; key: string; at: number; seq: number; notice: RoomNotice }
  | { kind: 'pending'; key: string; at: number; seq: number; pending: PendingMessage };

/** Longer than this (characters or lines), a message shows collapsed with "Show more". */
export const COLLAPSE_CHARS = 1200;
export const COLLAPSE_LINES = 16;

export function isLong(text: string): boolean {
  if (text.length > COLLAPSE_CHARS) return true;
  let lines = 1;
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) === 10 && ++lines > COLLAPSE_LINES) return true;
  return false;
}

export function messageKey(m: ChatMessage): string {
  return `m:${m.sid}:${m.seq}`;
}

export function noticeKey(n: RoomNotice): string {
  return `n:${n.seq}:${n.kind}:${n.nick ?? ''}:${n.text}:${n.seq === 0 ? n.at : ''}`;
}

export function markFor(m: ChatMessage, keys: ReadonlyMap<string, KnownKey>): Mark {
  if (m.own) return 'self';
  const key = keys.get(m.from);
  if (!key) return 'unverified';
  if (key.pendingFingerprint) return 'key-changed';
  return key.verified && key.fingerprint === m.fingerprint ? 'verified' : 'unverified';
}

export function buildTimeline(
  messages: readonly ChatMessage[],
  notices: readonly RoomNotice[],
  keys: readonly KnownKey[],
  pending: readonly PendingMessage[] = [],
): TimelineItem[] {
  const byNick = new Map(keys.map((k) => [k.nick, k]));
  const items: TimelineItem[] = [
    ...messages.map((message): TimelineItem => ({
      kind: 'message',
      key: messageKey(message),
      at: message.at,
      seq: message.seq,
      message,
      mark: markFor(message, byNick),
    })),
    ...notices.map((notice): TimelineItem => ({
      kind: 'notice',
      key: noticeKey(notice),
      at: notice.at,
      seq: notice.seq,
      notice,
    })),
  ];
  // Processing time first (the relay's seq restarts when a client rejoins in a new epoch), seq
  // to break ties between things handled in the same millisecond.
  items.sort((a, b) => a.at - b.at || a.seq - b.seq);
  // Messages not yet ordered by the relay come last, in the order they were typed.
  const waiting = pending.map((p): TimelineItem => ({
    kind: 'pending',
    key: `p:${p.id}`,
    at: p.at,
    seq: 0,
    pending: p,
  }));
  return [...withoutRepeatedJoining(items), ...waiting];
}

/**
 * A joiner whose join session lost to another one gets a new session, and a new "is joining"
 * notice; the chat shows the first only (the debug panel keeps every session).
 */
function withoutRepeatedJoining(items: TimelineItem[]): TimelineItem[] {
  const lastKind = new Map<string, RoomNotice['kind']>();
  return items.filter((item) => {
    if (item.kind !== 'notice' || item.notice.nick === null) return true;
    const nick = item.notice.nick;
    const repeated = item.notice.kind === 'joining' && lastKind.get(nick) === 'joining';
    lastKind.set(nick, item.notice.kind);
    return !repeated;
  });
}

/** Adds items not seen yet, keeping order by key identity. */
export function mergeUnique<T>(
  existing: readonly T[],
  incoming: readonly T[],
  key: (t: T) => string,
): T[] {
  const seen = new Set(existing.map(key));
  const out = [...existing];
  for (const item of incoming) {
    const k = key(item);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(item);
    }
  }
  return out;
}
