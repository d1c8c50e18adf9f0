// The relay under test, for every benchmark that drives one (bench relay, bench join, the
// harness): a child process by default, as a team would run it, so the generator does not share
// its event loop; in this process with `inProcess`; or an external one at `url`. On Linux its
// CPU time and resident memory are read from /proc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startRelay } from '../src-main/relay/index';
import { ROOT } from './common';
import type { RelayBenchOptions } from './relay-types';

export interface BenchRelay {
  readonly url: string;
  /** CPU seconds the relay process has used so far, where the OS tells us (Linux). */
  cpuSeconds(): number | undefined;
  /** Resident memory of the relay process, where the OS tells us (Linux). */
  rssBytes(): number | undefined;
  stop(): Promise<void>;
}

function processCpuSeconds(pid: number | undefined): number | undefined {
  try {
    // Fields 14 and 15 of /proc/PID/stat: user and system time in clock ticks (100 Hz).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined; // not Linux: the column says n/a
  }
}

function processRssBytes(pid: number | undefined): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The relay under test: a child process by default, in this process with `inProcess`. */
export async function startBenchRelay(
  options: Pick<RelayBenchOptions, 'url' | 'inProcess'>,
  perRoom: number,
): Promise<BenchRelay> {
  const none = () => undefined;
  if (options.url) {
    return { url: options.url, cpuSeconds: none, rssBytes: none, stop: async () => undefined };
  }
  if (options.inProcess) {
    const relay = await startRelay({
      limits: { eventsPerSecond: 1e6, burst: 1e6, maxMembersPerRoom: perRoom },
      retention: { count: 10_000 },
    });
    return { url: relay.url, cpuSeconds: none, rssBytes: none, stop: () => relay.close() };
  }
  // `node --import tsx` rather than the tsx CLI, so the child is the relay itself and its CPU
  // time can be read.
  const args = ['--import', 'tsx', resolve(ROOT, 'src-main/relay/cli.ts'), '--port', '0'];
  args.push('--log-level', 'warn', '--rate', '1000000', '--burst', '1000000');
  args.push('--max-members', String(perRoom), '--retention-count', '10000');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('relay did not start')), 20_000);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /relay listening on (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.once('exit', (code) => fail(new Error(`relay exited with ${code}`)));
  });
  return {
    url,
    cpuSeconds: () => processCpuSeconds(child.pid),
    rssBytes: () => processRssBytes(child.pid),
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
