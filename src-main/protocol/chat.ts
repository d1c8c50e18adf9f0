// CHAT in the current session: sealing, opening, replay protection and the transcript chain
// (PROTOCOL.md section 7).
import type { Body, VerifiedFrame } from './codec';
import {
  MessageType,
  PROTOCOL_VERSION,
  chatPlainSchema,
  decodeMsgpack,
  encodeFrame,
  encodeMsgpack,
} from './codec';
import { fingerprint, messageKey, transcriptNext } from './derive';
import { sendingBlocked } from './membership';
import { emit, isMember, send, warn } from './room-effects';
import type { Ordered, RoomState } from './room-state';
import type { Session } from './session';
import type { Participant } from './types';
import { bytesEqual } from './types';

/**
 * `attachment`: a file offer or chunk (files.ts), carried opaquely in the sealed plaintext.
 * An attachment is never held here: while sending is blocked it fails at once (`chat-failed`
 * without an id) and the host's file transfer waits and tries the same chunk again.
 */
export function sendChat(
  room: RoomState,
  text: string,
  id?: string,
  attachment?: Uint8Array,
): void {
  const c = room.current;
  const own = c?.own;
  if (!c || !own?.sk || !isMember(room)) {
    warn(room, 'dropped-invalid-message', 'cannot send: no current session yet');
    if (id !== undefined) {
      emit(room, { type: 'chat-failed', id, text, reason: 'no current session yet' });
    }
    return;
  }
  // Nothing new is encrypted to a session that still holds someone whose departure is
  // ordered (docs/PROTOCOL.md "Accountability", rule 1): the chat waits for the re-key.
  const blocked = sendingBlocked(room);
  if (blocked && attachment) {
    emit(room, { type: 'chat-failed', text, reason: blocked });
    return;
  }
  if (blocked) {
    room.held.push(id === undefined ? { text } : { text, id });
    emit(room, { type: 'chat-held', ...(id === undefined ? {} : { id }), text, reason: blocked });
    return;
  }
  const head = own.chain[own.chain.length - 1];
  const plain = {
    pseq: head?.seq ?? 0,
    th: head?.hash ?? null,
    text,
    ...(attachment ? { att: attachment } : {}),
  };
  // A random 48-bit message number: unique without any counter that a crash could rewind.
  const r = room.crypto.random(6);
  const number = r.reduce((acc, b) => acc * 256 + b, 0);
  own.sendCounter++;
  const key = messageKey(room.crypto, own.sk, own.index, number);
  const sealed = room.crypto.seal(encodeMsgpack(plain), chatAd(c.sidBytes, own.index), key);
  key.fill(0);
  send(
    room,
    encodeFrame(
      room.crypto,
      'CHAT',
      c.sidBytes,
      { index: own.index, number, sealed },
      own.eph.secretKey,
    ),
  );
}

export function onChat(
  room: RoomState,
  session: Session,
  index: number,
  body: Body<'CHAT'>,
  frame: VerifiedFrame,
  event: Extract<Ordered, { kind: 'message' }>,
): string {
  if (session !== room.current && session !== room.draining) return 'not-current-session';
  const own = session.own;
  if (!own?.sk) return 'ignored: not a reader of this session';
  const replayKey = `${index}:${body.number}`;
  if (own.seenChat.has(replayKey)) return 'replayed-chat';
  const key = messageKey(room.crypto, own.sk, index, body.number);
  let plainBytes: Uint8Array;
  try {
    plainBytes = room.crypto.open(body.sealed, chatAd(session.sidBytes, index), key);
  } catch {
    return 'decrypt-failed';
  } finally {
    key.fill(0);
  }
  const plain = decodeMsgpack(chatPlainSchema, plainBytes);
  if (!plain.ok) return `chat-${plain.error}`;
  if (plain.value.pseq < own.replayFloor) return 'stale-chat';
  if (own.seenChat.size >= REPLAY_WINDOW) {
    // The window is full: forget the oldest, and from now on refuse anything its sender wrote
    // before that message arrived (a replay older than the window, or a very stale sender).
    const [oldest, arrived] = own.seenChat.entries().next().value as [string, number];
    own.seenChat.delete(oldest);
    own.replayFloor = Math.max(own.replayFloor, arrived);
  }
  own.seenChat.set(replayKey, event.seq);
  let transcript: 'ok' | 'mismatch' | 'unknown' = 'unknown';
  const point = [...own.chain].reverse().find((p) => p.seq <= plain.value.pseq);
  if (point && plain.value.th) {
    transcript = bytesEqual(point.hash, plain.value.th) ? 'ok' : 'mismatch';
  }
  if (transcript === 'mismatch') {
    warn(
      room,
      'transcript-mismatch',
      `${event.nick}'s view of the conversation differs from ours`,
      event.seq,
    );
  }
  const headHash = (own.chain[own.chain.length - 1] as { hash: Uint8Array }).hash;
  own.chain.push({
    seq: event.seq,
    hash: transcriptNext(room.crypto, headHash, event.seq, frame.signed),
  });
  if (own.chain.length > CHAIN_WINDOW) own.chain.splice(0, own.chain.length - CHAIN_WINDOW);
  const sender = session.participants[index] as Participant;
  emit(room, {
    type: 'message',
    from: event.nick,
    text: plain.value.text,
    sid: session.sid,
    seq: event.seq,
    transcript,
    fingerprint: fingerprint(room.crypto, sender.lt),
    ...(plain.value.att ? { attachment: plain.value.att } : {}),
  });
  return 'accepted';
}

/** Chat messages remembered per session against replays (the snapshot carries them). */
const REPLAY_WINDOW = 2048;
/** Transcript points kept per session for checking a sender's claimed chain hash. */
const CHAIN_WINDOW = 256;

/** Associated data of a CHAT: version, type, sid and sender index. */
function chatAd(sid: Uint8Array, index: number): Uint8Array {
  const ad = new Uint8Array(2 + sid.length + 2);
  ad[0] = PROTOCOL_VERSION;
  ad[1] = MessageType.CHAT;
  ad.set(sid, 2);
  new DataView(ad.buffer).setUint16(2 + sid.length, index);
  return ad;
}
