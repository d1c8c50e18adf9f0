// Shared test helpers: a thin socket.io-client wrapper that records every `event`, and a
// private redis-server for the multi-node tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { JoinReply, LeaveReply, RoomEvent, SendReply } from '../../src-main/relay/index';

const ACK_TIMEOUT_MS = 5_000;

export interface WireEvent extends Omit<RoomEvent, 'data'> {
  readonly data?: Buffer;
}

export class TestClient {
  readonly events: WireEvent[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('event', (event: WireEvent) => {
      this.events.push(event);
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  static async connect(url: string): Promise<TestClient> {
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return new TestClient(socket);
  }

  join(payload: Record<string, unknown>): Promise<JoinReply> {
    return this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('join', payload) as Promise<JoinReply>;
  }

  send(room: string, data: Uint8Array | string): Promise<SendReply> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('send', { room, data: bytes }) as Promise<SendReply>;
  }

  leave(room: string): Promise<LeaveReply> {
    return this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('leave', { room }) as Promise<LeaveReply>;
  }

  /** Events of one room, in arrival order. */
  of(room: string): WireEvent[] {
    return this.events.filter((e) => e.room === room);
  }

  /** Resolves once `done()` holds, checked after every event; rejects after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until this client has seen `seq` in `room`. */
  untilSeq(room: string, seq: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.of(room).some((e) => e.seq >= seq), timeoutMs, `${room}#${seq}`);
  }

  /** Simulates a network drop: the transport dies without a Socket.IO goodbye. */
  drop(): void {
    this.socket.io.engine.close();
  }

  close(): void {
    this.socket.disconnect();
  }
}

export function ok<T extends { ok: boolean }>(reply: T): Extract<T, { ok: true }> {
  if (!reply.ok) throw new Error(`expected ok, got ${JSON.stringify(reply)}`);
  return reply as Extract<T, { ok: true }>;
}

/** Checks seqs are contiguous and returns a comparable fingerprint of each event. */
export function fingerprint(events: readonly WireEvent[]): string[] {
  for (let i = 1; i < events.length; i++) {
    const [prev, cur] = [events[i - 1], events[i]];
    if (prev && cur && cur.seq !== prev.seq + 1) {
      throw new Error(`gap or reorder: ${prev.seq} then ${cur.seq}`);
    }
  }
  return events.map((e) => `${e.seq}:${e.type}:${e.nick}:${e.data ? e.data.toString('hex') : ''}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * CONCLAVE_TEST_REDIS_URL when set (CI), else a private redis-server if the binary exists.
 * Returns undefined (tests skip) only outside CI; in CI a missing Redis is a failure.
 */
export async function testRedis(): Promise<TestRedis | undefined> {
  const fromEnv = process.env['CONCLAVE_TEST_REDIS_URL'];
  if (fromEnv) return { url: fromEnv, stop: async () => undefined };
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) {
    if (process.env['CI']) {
      throw new Error('CI: set CONCLAVE_TEST_REDIS_URL or install redis-server');
    }
    return undefined;
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'conclave-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child: ChildProcess = spawn('redis-server', [...args, '--dir', dir], { stdio: 'pipe' });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 5_000);
    child.once('error', reject);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
