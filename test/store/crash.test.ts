// Crash safety: a writer process killed with SIGKILL at a random moment, several times over the
// same profile. After each kill the cursor is the last committed event, every event up to it is
// complete, nothing after it exists, and the restarted writer continues without applying any
// event twice.

import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, passphraseProtector, type Store } from '../../src-main/store';
import { batchFor } from './fixtures/crash-writer';
import { tempDir } from './helpers';

const WRITER = resolve(import.meta.dirname, 'fixtures/crash-writer.ts');

interface Run {
  readonly readyCursor: number;
  readonly lastPrinted: number;
  readonly killedAfterMs: number;
}

/** Starts the writer, lets it commit at least `minEvents`, waits `extraMs`, then SIGKILLs it. */
function runAndKill(path: string, minEvents: number, extraMs: number): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path], {
      cwd: resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let readyCursor = -1;
    let started = 0;
    let killTimer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^ready (\d+)$/m.exec(out);
      if (ready && readyCursor < 0) {
        readyCursor = Number(ready[1]);
        started = performance.now();
      }
      const printed = lastNumber(out);
      if (readyCursor >= 0 && printed >= readyCursor + minEvents && !killTimer) {
        killTimer = setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') {
        fail(new Error(`writer exited by itself (code ${code}): ${err}`));
        return;
      }
      done({
        readyCursor,
        lastPrinted: lastNumber(out),
        killedAfterMs: performance.now() - started,
      });
    });
  });
}

function lastNumber(out: string): number {
  const lines = out.split('\n').filter((line) => /^\d+$/.test(line));
  return lines.length ? Number(lines.at(-1)) : -1;
}

/** Checks every event 1..cursor is fully present and nothing beyond it is. */
function expectConsistent(store: Store, cursor: number): void {
  const [room] = store.listRooms();
  expect(room?.cursorSeq).toBe(cursor);
  const roomId = room!.id;

  const messages = store.getMessages(roomId, { limit: 10_000 });
  expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: cursor }, (_, i) => i + 1));
  for (const m of messages) expect(m.body).toBe(batchFor(m.seq).message?.body);

  const snapshot = store.latestSnapshot(roomId);
  expect(snapshot?.seq).toBe(cursor);
  expect(Buffer.from(snapshot!.snapshot).equals(batchFor(cursor).snapshot as Buffer)).toBe(true);

  const [session] = store.listSessions(roomId);
  expect(session).toMatchObject({ updatedSeq: cursor, reason: `progress at ${cursor}` });
  expect(store.getSessionSecret(roomId, session!.sid)).toEqual(
    new Uint8Array(batchFor(cursor).sessions![0]!.secret!),
  );
  expect(store.getSessionHistory(roomId).map((h) => h.seq)).toEqual(messages.map((m) => m.seq));
  expect(store.getKnownKeys(roomId)).toHaveLength(cursor);
  expect(store.eventLog(roomId, 1000).map((e) => e.seq)).toEqual(
    messages.map((m) => m.seq).slice(-1000),
  );
}

describe('crash safety', () => {
  it('survives SIGKILL at random moments with nothing partial and nothing twice', async () => {
    const path = join(tempDir(), 'p.db');
    const protector = passphraseProtector('crash', { opsLimit: 1, memLimit: 64 * 1024 });
    let cursor = 0;
    for (let round = 1; round <= 5; round++) {
      const minEvents = 5 + Math.floor(Math.random() * 60);
      const extraMs = Math.floor(Math.random() * 40);
      const run = await runAndKill(path, minEvents, extraMs);
      const context = `round ${round}: ${JSON.stringify({ minEvents, extraMs, ...run })}`;
      expect(run.readyCursor, context).toBe(cursor);

      const store = await openStore({ path, protector });
      const room = store.listRooms()[0];
      // Printed only after commit, so the cursor is at least the last printed seq, and at most
      // one more (killed between the commit and the print).
      expect(room?.cursorSeq, context).toBeGreaterThanOrEqual(run.lastPrinted);
      expect(room?.cursorSeq, context).toBeLessThanOrEqual(run.lastPrinted + 1);
      cursor = room!.cursorSeq;
      expectConsistent(store, cursor);
      store.close();
    }
    expect(cursor).toBeGreaterThan(25);
  }, 60_000);
});
