// Encrypted files through the client runtime over a real relay on 127.0.0.1 (docs/PROTOCOL.md
// "Files"): a 5 MB file goes from one member to the others with progress, is stored encrypted
// (no plaintext in the database files), reads back byte for byte; a later joiner has no way to
// get it; files over the limit are refused by the sender and by a receiver with a lower limit.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent, FileView } from '../../src-shared/api';
import { FILE_PART_BYTES } from '../../src-shared/api';
import type { FileSettings } from '../../src-main/client/files';
import type { ClientRuntime } from '../../src-main/client/runtime';
import { createClientRuntime } from '../../src-main/client/runtime';
import type { RunningRelay } from '../../src-main/relay';
import { startRelay } from '../../src-main/relay';
import { pollUntil } from './until';

let relay: RunningRelay;
let dir: string;
const open: ClientRuntime[] = [];

interface Client {
  rt: ClientRuntime;
  roomId: string;
  events: ClientEvent[];
  dir: string;
}

async function client(name: string, room: string, files?: Partial<FileSettings>): Promise<Client> {
  const dataDir = join(dir, name);
  const rt = await createClientRuntime({
    dataDir,
    passphrase: 'pw',
    argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 },
    defaultRelayUrl: relay.url,
    verifyThreads: 0,
    engine: { limboTimeoutMs: 3_000, joinRetryMs: 2_000 },
    // Rooms these tests found admit everyone (docs/PROTOCOL.md "Admission policy").
    admission: 'open',
    ...(files ? { files } : {}),
  });
  open.push(rt);
  const events: ClientEvent[] = [];
  rt.subscribe((e) => events.push(e));
  await rt.handlers.createIdentity(null);
  const summary = await rt.handlers.joinRoom({ relayUrl: relay.url, room, nick: name });
  return { rt, roomId: summary.id, events, dir: dataDir };
}

function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  return pollUntil(check, ms, 50);
}

const members = (c: Client) => c.rt.room(c.roomId).engine.current?.members.length ?? 0;

async function sendFile(c: Client, bytes: Uint8Array, name: string, mime: string, text = '') {
  const { uploadId } = await c.rt.handlers.sendFileStart({
    roomId: c.roomId,
    name,
    mime,
    size: bytes.length,
    text,
  });
  for (let at = 0; at < bytes.length; at += FILE_PART_BYTES) {
    const data = Buffer.from(bytes.subarray(at, at + FILE_PART_BYTES)).toString('base64');
    await c.rt.handlers.sendFilePart({ uploadId, data });
  }
  return (await c.rt.handlers.sendFileCommit({ uploadId })).fileId;
}

async function readAll(c: Client, fileId: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const { data, size } = await c.rt.handlers.readFile({ roomId: c.roomId, fileId, offset });
    const part = Buffer.from(data, 'base64');
    parts.push(part);
    offset += part.length;
    if (offset >= size || part.length === 0) break;
  }
  return Buffer.concat(parts);
}

const fileEvents = (c: Client, fileId: string): FileView[] =>
  c.events.flatMap((e) => (e.type === 'file-updated' && e.file.id === fileId ? [e.file] : []));

function rawDatabase(c: Client): Buffer {
  const path = join(c.dir, 'conclave.db');
  return Buffer.concat(
    [path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-files-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 500 });
});

afterAll(async () => {
  for (const rt of open) await rt.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('encrypted files over the relay', () => {
  it('a 5 MB file reaches the others with progress, stored encrypted; a later joiner cannot get it', async () => {
    const alice = await client('alice', 'files');
    await until(
      async () => (await alice.rt.handlers.roomState({ roomId: alice.roomId })).phase === 'member',
    );
    const bob = await client('bob', 'files');
    await until(() => members(alice) === 2 && members(bob) === 2);
    const carol = await client('carol', 'files');
    await until(() => members(alice) === 3 && members(bob) === 3 && members(carol) === 3);

    const marker = Buffer.from('PLAINTEXT-FILE-MARKER-0123456789');
    const bytes = Buffer.concat([marker, randomBytes(5 * 1024 * 1024 - 2 * marker.length), marker]);
    const bytesInBefore = await relayBytesIn();
    const started = performance.now();
    const fileId = await sendFile(
      alice,
      bytes,
      'dataset.bin',
      'application/octet-stream',
      'the data',
    );
    for (const c of [alice, bob, carol]) {
      await until(() => fileEvents(c, fileId).some((f) => f.state === 'complete'), 60_000);
    }
    const seconds = (performance.now() - started) / 1000;
    const onWire = (await relayBytesIn()) - bytesInBefore;
    console.log(
      `5 MB file: ${seconds.toFixed(2)} s to all three; ${onWire} bytes sent to the relay for ` +
        `${bytes.length} (${((onWire / bytes.length - 1) * 100).toFixed(2)} % overhead)`,
    );

    // Progress went up chunk by chunk, in order, to the total, on every side.
    for (const c of [alice, bob, carol]) {
      const done = fileEvents(c, fileId).map((f) => f.done);
      expect(done).toEqual(Array.from({ length: done.length }, (_, i) => i + 1));
      expect(done.at(-1)).toBe(Math.ceil(bytes.length / (60 * 1024)));
    }
    // The announcing message carries the file; history brings it back the same way.
    const history = await bob.rt.handlers.history({ roomId: bob.roomId });
    const message = history.find((m) => m.file?.id === fileId);
    expect(message).toMatchObject({
      from: 'alice',
      text: 'the data',
      file: { name: 'dataset.bin', size: bytes.length, state: 'complete', preview: false },
    });
    // Chunks are not messages.
    expect(history.filter((m) => m.from === 'alice')).toHaveLength(1);
    for (const c of [bob, carol, alice])
      expect((await readAll(c, fileId)).equals(bytes)).toBe(true);

    // No plaintext file bytes anywhere in the database or its WAL.
    for (const c of [alice, bob, carol]) {
      const raw = rawDatabase(c);
      expect(raw.includes(marker)).toBe(false);
      expect(raw.includes(bytes.subarray(1_000_000, 1_000_064))).toBe(false);
      expect(raw.includes(Buffer.from('dataset.bin'))).toBe(false);
    }

    // Dave joins after the transfer: it never held that session's key, and nothing re-serves
    // the file: no message, no file record, and readFile refuses.
    const dave = await client('dave', 'files');
    await until(() => members(dave) === 4 && members(alice) === 4);
    const daveHistory = await dave.rt.handlers.history({ roomId: dave.roomId });
    expect(daveHistory.some((m) => m.file)).toBe(false);
    await expect(
      dave.rt.handlers.readFile({ roomId: dave.roomId, fileId, offset: 0 }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(fileEvents(dave, fileId)).toEqual([]);

    // A file sent now reaches dave too (and an image is marked for preview).
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(70_000)]);
    const imageId = await sendFile(bob, png, 'photo.png', 'image/png');
    await until(() => fileEvents(dave, imageId).some((f) => f.state === 'complete'));
    expect(fileEvents(dave, imageId).at(-1)).toMatchObject({ preview: true, total: 2 });
    expect((await readAll(dave, imageId)).equals(png)).toBe(true);
  }, 120_000);

  it('refuses a file over the limit on the sender, and a receiver with a lower limit refuses it too', async () => {
    const erin = await client('erin', 'limits');
    await until(
      async () => (await erin.rt.handlers.roomState({ roomId: erin.roomId })).phase === 'member',
    );
    const frank = await client('frank', 'limits', { maxFileBytes: 1024 * 1024 });
    await until(() => members(erin) === 2 && members(frank) === 2);
    await expect(
      erin.rt.handlers.sendFileStart({
        roomId: erin.roomId,
        name: 'huge.iso',
        mime: '',
        size: 30 * 1024 * 1024,
      }),
    ).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: 'huge.iso is 30 MB; files are limited to 25 MB',
    });
    const fileId = await sendFile(erin, randomBytes(2 * 1024 * 1024), 'two.bin', '');
    await until(() => fileEvents(erin, fileId).some((f) => f.state === 'complete'));
    const msg = await until(async () =>
      (await frank.rt.handlers.history({ roomId: frank.roomId })).find(
        (m) => m.file?.id === fileId,
      ),
    );
    expect(msg.file).toMatchObject({
      state: 'failed',
      error: "2 MB is over this client's limit of 1 MB",
    });
    await expect(
      frank.rt.handlers.readFile({ roomId: frank.roomId, fileId, offset: 0 }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  }, 60_000);
});

/** The relay's own count of message bytes it accepted (Prometheus text from /metrics). */
async function relayBytesIn(): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('conclave_relay_bytes_in_total'));
  return Number(line?.split(' ').at(-1) ?? 0);
}
