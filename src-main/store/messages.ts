// messages: one chat message per relay event that carried one, body sealed, everything the UI
// sorts or filters on in clear. History pages run backwards from a position and come out
// oldest first.

import type Database from 'better-sqlite3';
import { checkLimit, checkSid } from './checks';
import type { Sealer, SealedSlot } from './sealed';
import type {
  MessagePosition,
  MessageRecord,
  NewMessage,
  RoomId,
  TranscriptStatus,
  Verification,
} from './types';

interface MessageRow {
  epoch: number;
  seq: number;
  sid: string;
  sender_nick: string;
  sender_fingerprint: string;
  body_sealed: Uint8Array;
  sent_at: number | null;
  received_at: number;
  verification: Verification;
  transcript: TranscriptStatus;
}

interface InsertParams {
  roomId: number;
  epoch: number;
  seq: number;
  sid: string;
  senderNick: string;
  senderFingerprint: string;
  body: Uint8Array;
  sentAt: number | null;
  receivedAt: number;
  verification: Verification;
  transcript: TranscriptStatus;
}

interface PageParams {
  roomId: number;
  epoch: number;
  seq: number;
  limit: number;
}

const bodySlot = (roomId: RoomId, epoch: number, seq: number): SealedSlot => ({
  table: 'messages',
  column: 'body_sealed',
  row: [roomId, epoch, seq],
});

export class MessageTable {
  readonly #sealer: Sealer;
  readonly #insert: Database.Statement<[InsertParams]>;
  readonly #page: Database.Statement<[PageParams], MessageRow>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#insert = db.prepare(`
      INSERT INTO messages (room_id, epoch, seq, sid, sender_nick, sender_fingerprint, body_sealed,
                            sent_at, received_at, verification, transcript)
      VALUES (@roomId, @epoch, @seq, @sid, @senderNick, @senderFingerprint, @body,
              @sentAt, @receivedAt, @verification, @transcript)`);
    this.#page = db.prepare(`
      SELECT * FROM (
        SELECT epoch, seq, sid, sender_nick, sender_fingerprint, body_sealed, sent_at,
               received_at, verification, transcript
        FROM messages
        WHERE room_id = @roomId AND (epoch, seq) < (@epoch, @seq)
        ORDER BY epoch DESC, seq DESC
        LIMIT @limit
      ) ORDER BY epoch, seq`);
  }

  insert(roomId: RoomId, epoch: number, seq: number, message: NewMessage, at: number): void {
    checkSid(message.sid, 'message sid');
    this.#insert.run({
      roomId,
      epoch,
      seq,
      sid: message.sid,
      senderNick: message.senderNick,
      senderFingerprint: message.senderFingerprint,
      body: this.#sealer.sealText(bodySlot(roomId, epoch, seq), message.body),
      sentAt: message.sentAt ?? null,
      receivedAt: at,
      verification: message.verification,
      transcript: message.transcript,
    });
  }

  /** Up to `limit` messages before `before` (default: the newest), oldest first. */
  page(roomId: RoomId, before: MessagePosition | undefined, limit: number): MessageRecord[] {
    checkLimit(limit);
    const end = before ?? { epoch: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER };
    return this.#page.all({ roomId, epoch: end.epoch, seq: end.seq, limit }).map((row) => ({
      roomId,
      epoch: row.epoch,
      seq: row.seq,
      sid: row.sid,
      senderNick: row.sender_nick,
      senderFingerprint: row.sender_fingerprint,
      body: this.#sealer.openText(bodySlot(roomId, row.epoch, row.seq), row.body_sealed),
      sentAt: row.sent_at,
      receivedAt: row.received_at,
      verification: row.verification,
      transcript: row.transcript,
    }));
  }
}
