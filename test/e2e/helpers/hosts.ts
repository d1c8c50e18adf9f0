// Browser hosts as separate processes, started the way a tester starts them (the web CLI), plus a
// small client of their bridge that gives the test the runtime's own, headless view of a room.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import type { ApiArg, ApiMethod, ApiResult, Reply } from '../../../src-shared/api';
import type { BridgeServerMessage } from '../../../src-shared/bridge-wire';

const ROOT = resolve(import.meta.dirname, '../../..');

export interface HostProcess {
  name: string;
  url: string;
  port: number;
  token: string;
  pid: number;
  /** Freeze or resume the whole host (SIGSTOP/SIGCONT), as a stalled peer. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
  stderr(): string;
}

/** The host keeps its profile key in its data folder (no passphrase prompt in a test). */
function hostEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['CONCLAVE_PASSPHRASE'];
  return env;
}

export async function spawnHost(
  name: string,
  dataDir: string,
  relayUrl: string,
  timeoutMs = 30_000,
  /**
   * The policy of rooms this user founds: the tests found open rooms unless they ask; null
   * leaves it to the host's default (knock).
   */
  admission: 'open' | 'knock' | 'invite' | null = 'open',
): Promise<HostProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src-main/web/cli.ts',
      '--data',
      dataDir,
      '--port',
      '0',
      '--relay',
      relayUrl,
      ...(admission ? ['--admission', admission] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: hostEnv() },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const line = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${name}: no "web ui at" line within ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const match = out.match(/^web ui at (\S+)\n/m);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${name}: host exited with ${code}\n${err}`));
    });
  });
  const url = new URL(line);
  const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? '';
  const pid = child.pid as number;
  let stopped: Promise<void> | undefined;
  return {
    name,
    url: line,
    port: Number(url.port),
    token,
    pid,
    pause: () => process.kill(pid, 'SIGSTOP'),
    resume: () => process.kill(pid, 'SIGCONT'),
    stderr: () => err,
    stop() {
      stopped ??= new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(force);
          done();
        });
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

/** The host's API from Node: what the headless runtime itself reports. */
export class HostView {
  private ws: WebSocket;
  private next = 1;
  private waiting = new Map<number, (reply: Reply<unknown>) => void>();
  private opened: Promise<void>;

  constructor(host: HostProcess) {
    this.ws = new WebSocket(`ws://127.0.0.1:${host.port}/bridge?token=${host.token}`, {
      headers: { origin: `http://127.0.0.1:${host.port}` },
    });
    this.ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as BridgeServerMessage;
      if (message.t === 'reply') this.waiting.get(message.id)?.(message.reply);
    });
    this.opened = new Promise((done, fail) => {
      this.ws.once('open', () => done());
      this.ws.once('error', fail);
    });
  }

  async call<M extends ApiMethod>(method: M, arg: ApiArg<M>): Promise<ApiResult<M>> {
    await this.opened;
    const id = this.next++;
    const reply = await new Promise<Reply<unknown>>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`${method}: no reply in 10 s`)), 10_000);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        done(r);
      });
      this.ws.send(JSON.stringify({ t: 'call', id, method, arg }));
    });
    this.waiting.delete(id);
    if (!reply.ok) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
    return reply.value as ApiResult<M>;
  }

  close(): void {
    this.ws.terminate();
  }
}
