// A damaged database gives a clear typed error, and moving it aside lets the app start fresh.

import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moveAsideCorrupt, openStore, probeStore, StoreCorruptError } from '../../src-main/store';
import { bytes, cheapPassphrase, openTestStore, sid, tempDir } from './helpers';

const open = (path: string) => openStore({ path, protector: cheapPassphrase('test') });

/** A real profile with enough rows to span many pages. */
async function realProfile(path: string): Promise<void> {
  const store = await openTestStore(path);
  const roomId = store.upsertRoom({ relayUrl: 'ws://r', name: 'room', nick: 'a' }).id;
  store.applyEvent(roomId, 1, {
    log: { type: 'm', size: 1, outcome: 'accepted' },
    sessions: [
      {
        sid: sid(1),
        status: 'current',
        kind: 'genesis',
        parentSid: null,
        reason: 'r',
        members: [],
        progress: null,
        secret: bytes(32, 1),
      },
    ],
  });
  for (let seq = 2; seq <= 300; seq++) {
    store.applyEvent(roomId, seq, {
      log: { type: 'm', size: 1, outcome: 'accepted' },
      snapshot: randomBytes(300),
      message: {
        sid: sid(1),
        senderNick: 'b',
        senderFingerprint: 'f',
        body: `message ${seq} `.repeat(20),
        verification: 'verified',
        transcript: 'ok',
      },
    });
  }
  store.close();
}

describe('corrupt database files', () => {
  it('random bytes: StoreCorruptError with a clear message', async () => {
    const path = join(tempDir(), 'p.db');
    writeFileSync(path, randomBytes(8192));
    await expect(open(path)).rejects.toBeInstanceOf(StoreCorruptError);
    await expect(open(path)).rejects.toThrow(/damaged \(not a SQLite database\).*moveAsideCorrupt/);
    expect(() => probeStore(path)).toThrow(StoreCorruptError);
  });

  it('a valid header over random pages: StoreCorruptError', async () => {
    const path = join(tempDir(), 'p.db');
    writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(8192)]));
    await expect(open(path)).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it("another application's SQLite database: StoreCorruptError, file untouched", async () => {
    const path = join(tempDir(), 'p.db');
    const other = new Database(path);
    other.pragma('application_id = 42');
    other.exec('CREATE TABLE notes (body TEXT)');
    other.close();
    const before = readFileSync(path);
    await expect(open(path)).rejects.toThrow(/not a Conclave database: application_id 42/);
    expect(() => probeStore(path)).toThrow(StoreCorruptError);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a truncated real database: StoreCorruptError', async () => {
    const path = join(tempDir(), 'p.db');
    await realProfile(path);
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(64 * 1024);
    truncateSync(path, Math.floor(size / 2));
    await expect(open(path)).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it('a real database with a page overwritten: StoreCorruptError', async () => {
    const path = join(tempDir(), 'p.db');
    await realProfile(path);
    const data = readFileSync(path);
    randomBytes(4096).copy(data, 4096 * 3); // an interior page
    writeFileSync(path, data);
    await expect(open(path)).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it('moveAsideCorrupt keeps the damaged files, and a fresh profile opens', async () => {
    const dir = tempDir();
    const path = join(dir, 'p.db');
    writeFileSync(path, randomBytes(4096));
    writeFileSync(`${path}-wal`, randomBytes(100));
    writeFileSync(`${path}-shm`, randomBytes(100));
    await expect(open(path)).rejects.toBeInstanceOf(StoreCorruptError);

    const at = new Date('2026-11-24T07:00:00.123Z');
    const moved = moveAsideCorrupt(path, at);
    expect(moved).toBe(`${path}.corrupt-2026-11-24T07-00-00-123Z`);
    expect(readdirSync(dir).sort()).toEqual([
      'p.db.corrupt-2026-11-24T07-00-00-123Z',
      'p.db.corrupt-2026-11-24T07-00-00-123Z-shm',
      'p.db.corrupt-2026-11-24T07-00-00-123Z-wal',
    ]);

    const store = await open(path);
    expect(store.listRooms()).toEqual([]);
    store.close();

    // A second failure at the same instant does not overwrite the first one kept aside.
    writeFileSync(path, randomBytes(4096));
    expect(moveAsideCorrupt(path, at)).toBe(`${moved}-1`);
    expect(existsSync(moved)).toBe(true);
  });
});
