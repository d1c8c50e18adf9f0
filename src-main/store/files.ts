// files and file_chunks: received (and own, reflected) files, their bytes sealed chunk by chunk
// under the storage key. Name, MIME type, announced hash and file key are sealed too; what the UI
// sorts and shows progress with (size, counts, state) is in clear, as the relay saw it anyway.
// Bytes come back only for a complete file: a failed or unfinished one never yields a part.

import type Database from 'better-sqlite3';
import { StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type { FileChange, FileRecord, FileState, NewFile, RoomId } from './types';

const FILE_ID = /^[0-9a-f]{32}$/;

interface FileRow {
  file_id: string;
  epoch: number;
  seq: number;
  sender_nick: string;
  size: number;
  chunk_bytes: number;
  chunk_count: number;
  meta_sealed: Uint8Array;
  state: FileState;
  next_chunk: number;
  chain: Uint8Array;
  error: string | null;
  created_at: number;
  updated_at: number;
}

const metaSlot = (roomId: RoomId, fileId: string): SealedSlot => ({
  table: 'files',
  column: 'meta_sealed',
  row: [roomId, fileId],
});
const keySlot = (roomId: RoomId, fileId: string): SealedSlot => ({
  table: 'files',
  column: 'key_sealed',
  row: [roomId, fileId],
});
const chunkSlot = (roomId: RoomId, fileId: string, index: number): SealedSlot => ({
  table: 'file_chunks',
  column: 'data_sealed',
  row: [roomId, fileId, index],
});

function checkFileId(fileId: string): void {
  if (!FILE_ID.test(fileId)) throw new StoreMisuseError('file id must be 32 lowercase hex');
}

const COLUMNS = `file_id, epoch, seq, sender_nick, size, chunk_bytes, chunk_count, meta_sealed,
  state, next_chunk, chain, error, created_at, updated_at`;

export class FileTable {
  readonly #sealer: Sealer;
  readonly #insert: Database.Statement;
  readonly #get: Database.Statement<[number, string], FileRow>;
  readonly #atMessage: Database.Statement<[number, number, number], FileRow>;
  readonly #key: Database.Statement<[number, string], { key_sealed: Uint8Array | null }>;
  readonly #insertChunk: Database.Statement;
  readonly #advance: Database.Statement;
  readonly #fail: Database.Statement;
  readonly #dropChunks: Database.Statement;
  readonly #chunks: Database.Statement<[number, string], { idx: number; data_sealed: Uint8Array }>;
  readonly #receiving: Database.Statement<[number], FileRow>;
  readonly #chunkRange: Database.Statement<
    [number, string, number, number],
    { idx: number; data_sealed: Uint8Array }
  >;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#insert = db.prepare(`
      INSERT INTO files (room_id, file_id, epoch, seq, sender_nick, size, chunk_bytes, chunk_count,
                         meta_sealed, key_sealed, state, next_chunk, chain, error, created_at, updated_at)
      VALUES (@roomId, @fileId, @epoch, @seq, @senderNick, @size, @chunkBytes, @chunkCount,
              @meta, @key, @state, 0, @chain, @error, @at, @at)`);

    this.#get = db.prepare(`SELECT ${COLUMNS} FROM files WHERE room_id = ? AND file_id = ?`);
    this.#atMessage = db.prepare(
      `SELECT ${COLUMNS} FROM files WHERE room_id = ? AND epoch = ? AND seq = ?`,
    );
    this.#key = db.prepare(`SELECT key_sealed FROM files WHERE room_id = ? AND file_id = ?`);
    this.#insertChunk = db.prepare(
      `INSERT INTO file_chunks (room_id, file_id, idx, data_sealed) VALUES (?, ?, ?, ?)`,
    );
    this.#advance = db.prepare(`
      UPDATE files SET next_chunk = @next, chain = @chain, updated_at = @at,
        state = CASE WHEN @complete THEN 'complete' ELSE state END,
        key_sealed = CASE WHEN @complete THEN NULL ELSE key_sealed END
      WHERE room_id = @roomId AND file_id = @fileId AND state = 'receiving'`);
    this.#fail = db.prepare(`
      UPDATE files SET state = 'failed', key_sealed = NULL, error = @error, updated_at = @at
      WHERE room_id = @roomId AND file_id = @fileId AND state = 'receiving'`);
    this.#dropChunks = db.prepare(`DELETE FROM file_chunks WHERE room_id = ? AND file_id = ?`);
    this.#chunks = db.prepare(
      `SELECT idx, data_sealed FROM file_chunks WHERE room_id = ? AND file_id = ? ORDER BY idx`,
    );
    this.#chunkRange = db.prepare(
      `SELECT idx, data_sealed FROM file_chunks
       WHERE room_id = ? AND file_id = ? AND idx BETWEEN ? AND ? ORDER BY idx`,
    );
    this.#receiving = db.prepare(
      `SELECT ${COLUMNS} FROM files WHERE room_id = ? AND state = 'receiving'`,
    );
  }

  /** Inside applyEvent: the change one event made to a file. */
  apply(roomId: RoomId, epoch: number, seq: number, change: FileChange, at: number): void {
    switch (change.kind) {
      case 'offer':
        this.#offer(roomId, epoch, seq, change.file, at);
        break;
      case 'chunk':
        this.#chunk(roomId, change, at);
        break;
      case 'fail':
        this.fail(roomId, change.fileId, change.error, at);
        break;
      default: {
        const never: never = change;
        throw new StoreMisuseError(`unknown file change ${String(never)}`);
      }
    }
  }

  #offer(roomId: RoomId, epoch: number, seq: number, file: NewFile, at: number): void {
    checkFileId(file.fileId);
    const meta = JSON.stringify({ name: file.name, mime: file.mime, hash: toHex(file.hash) });
    this.#insert.run({
      roomId,
      fileId: file.fileId,
      epoch,
      seq,
      senderNick: file.senderNick,
      size: file.size,
      chunkBytes: file.chunkBytes,
      chunkCount: file.chunkCount,
      meta: this.#sealer.sealText(metaSlot(roomId, file.fileId), meta),
      key: file.error ? null : this.#sealer.seal(keySlot(roomId, file.fileId), file.key),
      state: file.error ? 'failed' : 'receiving',
      error: file.error ?? null,
      chain: file.chain,
      at,
    });
  }

  #chunk(roomId: RoomId, change: Extract<FileChange, { kind: 'chunk' }>, at: number): void {
    checkFileId(change.fileId);
    const row = this.#get.get(roomId, change.fileId);
    if (!row || row.state !== 'receiving') {
      throw new StoreMisuseError(`file ${change.fileId} is not receiving`);
    }
    if (change.index !== row.next_chunk || change.next !== change.index + 1) {
      throw new StoreMisuseError(`chunk ${change.index} of ${change.fileId} is out of order`);
    }
    this.#insertChunk.run(
      roomId,
      change.fileId,
      change.index,
      this.#sealer.seal(chunkSlot(roomId, change.fileId, change.index), change.data),
    );
    this.#advance.run({
      roomId,
      fileId: change.fileId,
      next: change.next,
      chain: change.chain,
      complete: change.complete ? 1 : 0,
      at,
    });
  }

  /** A file that can no longer complete: its chunks and key go, the error stays. */
  fail(roomId: RoomId, fileId: string, error: string, at: number): void {
    checkFileId(fileId);
    this.#dropChunks.run(roomId, fileId);
    this.#fail.run({ roomId, fileId, error: error || 'failed', at });
  }

  get(roomId: RoomId, fileId: string): FileRecord | null {
    checkFileId(fileId);
    const row = this.#get.get(roomId, fileId);
    return row ? this.#record(roomId, row) : null;
  }

  atMessage(roomId: RoomId, epoch: number, seq: number): FileRecord | null {
    const row = this.#atMessage.get(roomId, epoch, seq);
    return row ? this.#record(roomId, row) : null;
  }

  receiving(roomId: RoomId): FileRecord[] {
    return this.#receiving.all(roomId).map((row) => this.#record(roomId, row));
  }

  /** The file key, while the file is receiving; the caller zeroes it. */
  key(roomId: RoomId, fileId: string): Uint8Array | null {
    checkFileId(fileId);
    const row = this.#key.get(roomId, fileId);
    return row?.key_sealed ? this.#sealer.open(keySlot(roomId, fileId), row.key_sealed) : null;
  }

  /** The whole file, only once complete; null otherwise. */
  bytes(roomId: RoomId, fileId: string): Uint8Array | null {
    const record = this.get(roomId, fileId);
    if (!record || record.state !== 'complete') return null;
    const out = new Uint8Array(record.size);
    let at = 0;
    const rows = this.#chunks.all(roomId, fileId);
    if (rows.length !== record.chunkCount) return null;
    for (const row of rows) {
      const part = this.#sealer.open(chunkSlot(roomId, fileId, row.idx), row.data_sealed);
      out.set(part, at);
      at += part.length;
    }
    return at === record.size ? out : null;
  }

  /** Up to `length` bytes of a complete file from `offset`, opening only the chunks needed. */
  range(roomId: RoomId, fileId: string, offset: number, length: number): Uint8Array | null {
    const record = this.get(roomId, fileId);
    if (!record || record.state !== 'complete') return null;
    const start = Math.min(Math.max(0, offset), record.size);
    const end = Math.min(record.size, start + Math.max(0, length));
    if (end === start) return new Uint8Array(0);
    const first = Math.floor(start / record.chunkBytes);
    const last = Math.floor((end - 1) / record.chunkBytes);
    const out = new Uint8Array(end - start);
    for (const row of this.#chunkRange.all(roomId, fileId, first, last)) {
      const part = this.#sealer.open(chunkSlot(roomId, fileId, row.idx), row.data_sealed);
      const partStart = row.idx * record.chunkBytes;
      const from = Math.max(start, partStart);
      const to = Math.min(end, partStart + part.length);
      out.set(part.subarray(from - partStart, to - partStart), from - start);
    }
    return out;
  }

  #record(roomId: RoomId, row: FileRow): FileRecord {
    const meta = JSON.parse(
      this.#sealer.openText(metaSlot(roomId, row.file_id), row.meta_sealed),
    ) as {
      name: string;
      mime: string;
      hash: string;
    };
    return {
      roomId,
      fileId: row.file_id,
      epoch: row.epoch,
      seq: row.seq,
      senderNick: row.sender_nick,
      name: meta.name,
      mime: meta.mime,
      size: row.size,
      chunkBytes: row.chunk_bytes,
      chunkCount: row.chunk_count,
      state: row.state,
      nextChunk: row.next_chunk,
      chain: row.chain,
      hash: Buffer.from(meta.hash, 'hex'),
      error: row.error,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
