// files and file_chunks: an offer, its chunks in the same transactions as their events, bytes
// only for a complete file, a failure that drops every chunk, and no plaintext file bytes or
// names on disk (database and WAL, open and closed).

import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreConstraintError, StoreMisuseError, type NewFile } from '../../src-main/store';
import { currentSession, log, sid, storeWithRoom } from './helpers';

const FILE_ID = 'ab'.repeat(16);

function offerEvent(file: NewFile) {
  return {
    log: log(),
    message: {
      sid: sid(1),
      senderNick: 'bob',
      senderFingerprint: 'fp-bob',
      body: '',
      verification: 'unverified' as const,
      transcript: 'ok' as const,
    },
    file: { kind: 'offer' as const, file },
  };
}

function newFile(size: number, chunkBytes: number, name = 'holiday.png'): NewFile {
  return {
    fileId: FILE_ID,
    senderNick: 'bob',
    name,
    mime: 'image/png',
    size,
    chunkBytes,
    chunkCount: Math.max(1, Math.ceil(size / chunkBytes)),
    hash: new Uint8Array(32).fill(9),
    key: randomBytes(32),
    chain: new Uint8Array(32).fill(1),
  };
}

const chunkChange = (index: number, data: Uint8Array, complete: boolean) => ({
  log: log(),
  file: {
    kind: 'chunk' as const,
    fileId: FILE_ID,
    index,
    data,
    next: index + 1,
    chain: new Uint8Array(32).fill(index + 2),
    complete,
  },
});

describe('files in the store', () => {
  it('keeps the key while receiving, gives the bytes only once complete, then drops the key', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    const data = randomBytes(250);
    store.applyEvent(roomId, 2, offerEvent(newFile(250, 100)));
    expect(store.getFileAt(roomId, 1, 2)).toMatchObject({
      fileId: FILE_ID,
      name: 'holiday.png',
      state: 'receiving',
      chunkCount: 3,
      nextChunk: 0,
    });
    expect(store.getFileKey(roomId, FILE_ID)).toHaveLength(32);
    store.applyEvent(roomId, 3, chunkChange(0, data.subarray(0, 100), false));
    store.applyEvent(roomId, 4, chunkChange(1, data.subarray(100, 200), false));
    expect(store.getFileBytes(roomId, FILE_ID)).toBeNull();
    expect(store.getReceivingFiles(roomId).map((f) => f.nextChunk)).toEqual([2]);
    store.applyEvent(roomId, 5, chunkChange(2, data.subarray(200), true));
    expect(store.getFile(roomId, FILE_ID)?.state).toBe('complete');
    expect(Buffer.from(store.getFileBytes(roomId, FILE_ID) ?? [])).toEqual(data);
    expect(store.getFileKey(roomId, FILE_ID)).toBeNull();
    expect(store.getReceivingFiles(roomId)).toEqual([]);
  });

  it('refuses a chunk out of order or after completion, writing nothing for that event', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    store.applyEvent(roomId, 2, offerEvent(newFile(10, 10)));
    expect(() => store.applyEvent(roomId, 3, chunkChange(1, new Uint8Array(10), true))).toThrow(
      StoreMisuseError,
    );
    expect(store.getRoom(roomId)?.cursorSeq).toBe(2);
    store.applyEvent(roomId, 3, chunkChange(0, new Uint8Array(10), true));
    expect(() => store.applyEvent(roomId, 4, chunkChange(0, new Uint8Array(10), true))).toThrow(
      StoreMisuseError,
    );
  });

  it('a failed file keeps its error and loses its chunks and key; it never yields bytes', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    store.applyEvent(roomId, 2, offerEvent(newFile(20, 10)));
    store.applyEvent(roomId, 3, chunkChange(0, new Uint8Array(10).fill(5), false));
    store.applyEvent(roomId, 4, {
      log: log('file-chunk-tampered'),
      file: { kind: 'fail', fileId: FILE_ID, error: 'chunk 1 failed authentication' },
    });
    expect(store.getFile(roomId, FILE_ID)).toMatchObject({
      state: 'failed',
      error: 'chunk 1 failed authentication',
    });
    expect(store.getFileKey(roomId, FILE_ID)).toBeNull();
    expect(store.getFileBytes(roomId, FILE_ID)).toBeNull();
    // A stalled transfer failed outside an event: no effect on a file already failed.
    store.failFile(roomId, FILE_ID, 'stalled');
    expect(store.getFile(roomId, FILE_ID)?.error).toBe('chunk 1 failed authentication');
  });

  it('an offer needs its announcing message in the same event', async () => {
    const { store, roomId } = await storeWithRoom();
    currentSession(store, roomId, 1);
    expect(() =>
      store.applyEvent(roomId, 2, { log: log(), file: { kind: 'offer', file: newFile(1, 1) } }),
    ).toThrow(StoreConstraintError);
  });

  it('a database scan after a transfer finds no file bytes, name, key or hash in clear', async () => {
    const { store, roomId, path } = await storeWithRoom();
    currentSession(store, roomId, 1);
    const marker = Buffer.from('FILE-BYTES-MARKER-');
    const data = Buffer.concat([marker, randomBytes(3000), marker]);
    const file = newFile(data.length, 1024, 'SECRET-NAME-MARKER.png');
    store.applyEvent(roomId, 2, offerEvent(file));
    let seq = 3;
    for (let i = 0; i < file.chunkCount; i++) {
      const part = data.subarray(i * 1024, (i + 1) * 1024);
      store.applyEvent(roomId, seq++, chunkChange(i, part, i === file.chunkCount - 1));
    }
    expect(Buffer.from(store.getFileBytes(roomId, FILE_ID) ?? [])).toEqual(data);
    const needles: Record<string, Buffer> = {
      marker,
      chunk: data.subarray(100, 132),
      name: Buffer.from('SECRET-NAME-MARKER'),
      key: Buffer.from(file.key),
      keyHex: Buffer.from(Buffer.from(file.key).toString('hex')),
    };
    const raw = () =>
      Buffer.concat([path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));
    const found = () =>
      Object.entries(needles)
        .filter(([, n]) => raw().includes(n))
        .map(([k]) => k);
    expect(found()).toEqual([]);
    store.close();
    expect(found()).toEqual([]);
    // Control: the sender's nick is stored in clear and is found.
    expect(raw().includes(Buffer.from('bob'))).toBe(true);
  });
});
