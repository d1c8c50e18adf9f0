// The chat timeline: messages and room notices in one list, in the order this client processed
// them, each message with its sender's verification mark.
import type { ChatMessage, KnownKey, PendingMessage, RoomNotice } from '../../../src-shared/api';
import { joinedText } from './format';

export type Mark = 'self' | 'verified' | 'unverified' | 'key-changed';

export type TimelineItem =
  | { kind: 'message'; key: string; at: number; seq: number; message: ChatMessage; mark: Mark }
  | {
      kind: 'notice';
      key: string;
      at: number;
      seq: number;
      notice: RoomNotice;
      /** A line standing for several 'joined' notices of one event (a batch): who joined. */
      nicks?: readonly string[];
    }
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
  self: string | null = null,
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
  return [...coalesceJoined(withoutRepeatedJoining(items), self), ...waiting];
}

/**
 * A batch session admits several joiners at one relay event: the runtime keeps one 'joined'
 * notice per new member, all at that event's seq (so they survive a restart as they are), and
 * the chat shows them as one line, "ada, brian and chen joined", where the first of them was.
 * Items of one event are adjacent here (one event is handled at once), so a run of notices with
 * the same seq is one event; seq 0 (no event) never coalesces.
 */
export function coalesceJoined(
  items: readonly TimelineItem[],
  self: string | null,
): TimelineItem[] {
  const out: TimelineItem[] = [];
  let group: { index: number; nicks: string[] } | null = null;
  let runSeq = -1;
  for (const item of items) {
    // A message is an event of its own: it ends the run even at an equal seq (another epoch).
    if (item.seq !== runSeq || item.kind !== 'notice') group = null;
    runSeq = item.seq;
    const joined = item.kind === 'notice' && item.notice.kind === 'joined' && item.seq > 0;
    const nick = item.kind === 'notice' ? item.notice.nick : null;
    if (!joined || nick === null) {
      out.push(item);
      continue;
    }
    if (!group) {
      group = { index: out.length, nicks: [nick] };
      out.push(item);
      continue;
    }
    group.nicks.push(nick);
    const first = out[group.index];
    if (first?.kind !== 'notice') continue;
    const notice = { ...first.notice, text: joinedText(group.nicks, self) };
    out[group.index] = { ...first, notice, nicks: [...group.nicks] };
  }
  return out;
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
