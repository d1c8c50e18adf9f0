// Where a group of the relay bench's clients runs: on this thread, or in a worker thread of its
// own (`--workers`), behind the same `GroupHandle`. A worker loads this file and runs
// `workerMain`, which drives a `ClientGroup` (bench/relay-load.ts) by messages.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { GroupSpec, GroupStats } from './relay-load';
import { ClientGroup } from './relay-load';

/** The same three steps, whether the group runs on this thread or in a worker. */
export interface GroupHandle {
  ready: Promise<void>;
  go(): void;
  measure(): void;
  finish(): Promise<GroupStats>;
  /** Stops everything after a failure elsewhere. */
  abort(): Promise<void>;
}

export function localGroup(spec: GroupSpec): GroupHandle {
  const group = new ClientGroup(spec);
  return {
    ready: group.connect(),
    go: () => group.start(),
    measure: () => group.measure(),
    finish: () => group.finish(),
    abort: async () => group.closeAll(),
  };
}

export function workerGroup(spec: GroupSpec): GroupHandle {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { role: 'relay-bench-clients', spec },
    execArgv: ['--import', 'tsx'],
  });
  const next = (type: string) =>
    new Promise<unknown>((done, fail) => {
      const onMessage = (msg: { type: string; stats?: GroupStats; error?: string }) => {
        if (msg.type === 'error') {
          worker.off('message', onMessage);
          fail(new Error(`relay bench worker: ${msg.error}`));
          return;
        }
        if (msg.type !== type) return;
        worker.off('message', onMessage);
        done(msg.stats);
      };
      worker.on('message', onMessage);
      worker.once('error', fail);
    });
  return {
    ready: next('ready').then(() => undefined),
    go: () => worker.postMessage('go'),
    measure: () => worker.postMessage('measure'),
    async finish() {
      const stats = next('stats');
      worker.postMessage('finish');
      try {
        return (await stats) as GroupStats;
      } finally {
        await worker.terminate();
      }
    },
    abort: async () => {
      await worker.terminate();
    },
  };
}

async function workerMain(spec: GroupSpec): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const group = new ClientGroup(spec);
  try {
    await group.connect();
  } catch (err) {
    port.postMessage({ type: 'error', error: String(err instanceof Error ? err.message : err) });
    return;
  }
  port.on('message', (msg: string) => {
    if (msg === 'go') group.start();
    if (msg === 'measure') group.measure();
    if (msg === 'finish') {
      group.finish().then(
        (stats) => {
          port.postMessage({ type: 'stats', stats }, [
            stats.latencies.buffer as ArrayBuffer,
            stats.lags.buffer as ArrayBuffer,
          ]);
        },
        (err: unknown) => {
          port.postMessage({
            type: 'error',
            error: String(err instanceof Error ? err.message : err),
          });
        },
      );
    }
  });
  port.postMessage({ type: 'ready' });
}

const role = (workerData as { role?: string; spec?: GroupSpec } | null) ?? {};
if (!isMainThread && role.role === 'relay-bench-clients' && role.spec) {
  void workerMain(role.spec);
}
