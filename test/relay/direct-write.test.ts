// The relay's broadcast writes pre-encoded WebSocket frames straight to each member's TCP socket
// (batching.ts). A real Socket.IO server and client check that those bytes decode exactly like
// Socket.IO's own emit, for every frame-length form, and that while Engine.IO still holds
// packets for a client the direct write refuses, so the fallback emit queues behind them and the
// client's stream stays in order.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteBatcher, encodeEventFrames } from '../../src-main/relay/batching';

interface Received {
  seq: number;
  data?: Buffer;
  via: string;
}

let http: HttpServer | undefined;
let server: Server | undefined;
let client: ClientSocket | undefined;

afterEach(async () => {
  client?.disconnect();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  http?.close();
  [http, server, client] = [undefined, undefined, undefined];
});

async function pair(intervalMs: number): Promise<{
  socket: Socket;
  batcher: WriteBatcher;
  io: Server;
  received: Received[];
  until: (n: number) => Promise<void>;
}> {
  http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  server = io;
  const batcher = new WriteBatcher(intervalMs);
  const connected = new Promise<Socket>((resolve) =>
    io.on('connection', (socket) => {
      batcher.attach(socket, 1 << 24, () => undefined);
      resolve(socket);
    }),
  );
  await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const c = connect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  client = c;
  const received: Received[] = [];
  let wake: (() => void) | undefined;
  c.on('event', (e: Received) => {
    received.push(e);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('connect_error', reject);
  });
  const socket = await connected;
  const until = async (n: number) => {
    const deadline = Date.now() + 5_000;
    while (received.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${received.length} of ${n} events arrived`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  return { socket, batcher, io, received, until };
}

/** Waits (bounded) for Engine.IO to be ready to write again for `socket`. */
async function writable(socket: Socket): Promise<void> {
  const transport = socket.conn.transport as unknown as { writable: boolean };
  for (let i = 0; i < 1000 && !transport.writable; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(transport.writable).toBe(true);
}

describe('direct broadcast writes', () => {
  it('decode exactly like Socket.IO emits, for 7-, 16- and 64-bit frame lengths', async () => {
    const { socket, batcher, io, received, until } = await pair(0);
    const sizes = [0, 5, 125, 126, 65_535, 65_536, 200_000];
    let seq = 0;
    for (const size of sizes) {
      const data = Buffer.alloc(size, size % 251);
      socket.emit('event', { seq: ++seq, data, via: 'socket.io' });
      // Once the client has it and Engine.IO's write callback has run, nothing is queued.
      await until(seq);
      await writable(socket);
      const direct = { seq: ++seq, data, via: 'direct' };
      expect(batcher.writeFrames(socket, encodeEventFrames(io.encoder, 'event', direct))).toBe(
        true,
      );
      await until(seq);
    }
    // Presence events carry no binary attachment: one text frame.
    const presence = { seq: ++seq, via: 'direct' };
    expect(batcher.writeFrames(socket, encodeEventFrames(io.encoder, 'event', presence))).toBe(
      true,
    );
    await until(seq);
    expect(received.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    for (let i = 0; i < sizes.length; i++) {
      const [viaSocketIo, viaDirect] = [received[2 * i], received[2 * i + 1]];
      expect(viaDirect?.via).toBe('direct');
      expect(Buffer.compare(viaDirect?.data ?? Buffer.alloc(1), viaSocketIo?.data as Buffer)).toBe(
        0,
      );
      expect(viaDirect?.data?.length).toBe(sizes[i]);
    }
    expect(received.at(-1)).toEqual({ seq, via: 'direct' });
  });

  it('refuses while Engine.IO holds packets, so the fallback emit stays behind them', async () => {
    const { socket, batcher, io, received, until } = await pair(20);
    const transport = socket.conn.transport as unknown as { writable: boolean };
    const frames = (seq: number) =>
      encodeEventFrames(io.encoder, 'event', { seq, data: Buffer.from([seq]), via: 'direct' });

    expect(batcher.writeFrames(socket, frames(1))).toBe(true);
    // The transport is busy (as while a previous write's callback is pending): Engine.IO queues.
    transport.writable = false;
    socket.emit('event', { seq: 2, via: 'socket.io' });
    expect(batcher.writeFrames(socket, frames(3))).toBe(false);
    socket.emit('event', { seq: 3, data: Buffer.from([3]), via: 'socket.io' });
    // Writable again: Engine.IO flushes its queue, after which direct writes resume.
    transport.writable = true;
    (socket.conn as unknown as { flush(): void }).flush();
    expect(batcher.writeFrames(socket, frames(4))).toBe(true);
    await until(4);
    expect(received.map((e) => [e.seq, e.via])).toEqual([
      [1, 'direct'],
      [2, 'socket.io'],
      [3, 'socket.io'],
      [4, 'direct'],
    ]);
  });

  it('refuses on a closed connection instead of writing to a dead socket', async () => {
    const { socket, batcher, io } = await pair(0);
    socket.disconnect(true);
    expect(
      batcher.writeFrames(socket, encodeEventFrames(io.encoder, 'event', { seq: 1, via: 'x' })),
    ).toBe(false);
  });
});
