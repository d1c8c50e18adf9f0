// Drives headless clients (`src-main/client/cli.ts`) as separate processes: JSON lines in, JSON
// lines out, every wait bounded.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Event = Record<string, unknown> & { event: string };

export interface HeadlessOptions {
  relay: string;
  room: string;
  nick: string;
  dataDir: string;
  args?: string[];
}

export class Headless {
  readonly events: Event[] = [];
  private waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';

  private constructor(
    readonly nick: string,
    private readonly child: ChildProcess,
  ) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      let e: Event;
      try {
        e = JSON.parse(line) as Event;
      } catch {
        return;
      }
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(e)) return true;
        w.resolve(e);
        return false;
      });
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static spawn(opts: HeadlessOptions): Headless {
    const args = [
      '--import',
      'tsx',
      'src-main/client/cli.ts',
      '--relay',
      opts.relay,
      '--room',
      opts.room,
      '--nick',
      opts.nick,
      '--data',
      opts.dataDir,
      '--fast-kdf',
      '--limbo-timeout-ms',
      '3000',
      '--join-retry-ms',
      '2500',
      // Rooms these tests found admit everyone (the admission tests ask for knock).
      '--admission',
      'open',
      ...(opts.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, CONCLAVE_PASSPHRASE: 'correct horse battery staple' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Headless(opts.nick, child);
  }

  command(cmd: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The first event (already seen or future) matching `pred`, within `ms`. */
  waitFor(pred: (e: Event) => boolean, ms = 20_000, what = 'event'): Promise<Event> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.next(pred, ms, what);
  }

  /** The next future event matching `pred`. */
  next(pred: (e: Event) => boolean, ms = 20_000, what = 'event'): Promise<Event> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `${this.nick}: no ${what} within ${ms} ms; last events: ${JSON.stringify(this.events.slice(-5))}\n${this.stderr.slice(-2000)}`,
          ),
        );
      }, ms);
      const done = (e: Event) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  async state(ms = 10_000): Promise<Event> {
    const p = this.next((e) => e.event === 'state', ms, 'state');
    this.command({ cmd: 'state' });
    return p;
  }

  /** Poll `state` until `check` passes. */
  async until(check: (state: Event) => boolean, ms = 30_000, what = 'state'): Promise<Event> {
    const end = Date.now() + ms;
    let last: Event | null = null;
    while (Date.now() < end) {
      last = await this.state();
      if (check(last)) return last;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(
      `${this.nick}: ${what} not reached within ${ms} ms; last: ${JSON.stringify(last)}`,
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  async quit(ms = 10_000): Promise<void> {
    this.command({ cmd: 'quit' });
    const timer = setTimeout(() => this.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

export function currentOf(state: Event): { sid: string; members: string[] } | null {
  return (state['current'] as { sid: string; members: string[] } | null) ?? null;
}

export function sameRoom(states: Event[], members: string[]): boolean {
  const sids = new Set(states.map((s) => currentOf(s)?.sid));
  if (sids.size !== 1 || sids.has(undefined)) return false;
  const want = JSON.stringify([...members].sort());
  return states.every((s) => {
    const inSession = [...(currentOf(s)?.members ?? [])].sort();
    const settled = ((s['members'] as { nick: string; state: string }[]) ?? [])
      .filter((m) => m.state === 'member')
      .map((m) => m.nick)
      .sort();
    return (
      s['phase'] === 'member' &&
      s['connection'] === 'connected' &&
      JSON.stringify(inSession) === want &&
      JSON.stringify(settled) === want
    );
  });
}
