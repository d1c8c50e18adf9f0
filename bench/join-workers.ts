// `join --workers W`: the same one-join-at-a-time build, with the clients spread over W worker
// processes (the i-th client lives in worker (i - 1) mod W), all on one relay in its own process.
// Each worker is a BenchRoom over the socket transport, exactly as the single-process build, and
// reports every change of a client's current session to this coordinator, which decides when the
// room has converged. So the n-th join is timed from the coordinator's `join` command until the
// last client's report that completes convergence: two IPC hops (well under a millisecond each)
// more than the single-process build. Engine CPU, crypto counts and traffic are snapshots taken
// from every worker before and after each join, diffed exactly as `measuredJoin` does.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchClient, ClientStats, Traffic } from './harness';
import { BenchRoom, diffStats, diffTraffic, openTransport } from './harness';
import { joinRecord, type JoinRecord } from './join';
import { startBenchRelay } from './relay-process';
import { sum } from './common';

type Call =
  | { op: 'connect'; nick: string }
  | { op: 'join'; nick: string }
  | { op: 'quiet' }
  | { op: 'snapshot' }
  | { op: 'close' };
type Request = Call & { id: number };

interface WorkerSnapshot {
  clients: Record<string, ClientStats>;
  traffic: Traffic;
  /** process.cpuUsage of the worker, user + system, in microseconds. */
  cpuMicros: number;
  /** Cumulative event-loop idle time of the worker (performance.eventLoopUtilization). */
  idleMs: number;
}

interface SessionView {
  sid: string | null;
  size: number;
  member: boolean;
}

type WorkerMessage =
  | { kind: 'reply'; id: number; ok: true; value?: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string }
  | ({ kind: 'session'; nick: string } & SessionView);

const WORKER_FLAG = '--join-worker';

/** One worker process and its request/reply channel. */
class WorkerProcess {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private exited: Error | null = null;

  constructor(
    readonly child: ChildProcess,
    private readonly timeoutMs: number,
    onSession: (nick: string, view: SessionView) => void,
  ) {
    child.on('message', (m: WorkerMessage) => {
      if (m.kind === 'session') {
        onSession(m.nick, { sid: m.sid, size: m.size, member: m.member });
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`worker ${child.pid}: ${m.error}`));
    });
    child.once('exit', (code, signal) => {
      this.exited = new Error(`worker ${child.pid} exited (${code ?? signal})`);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(this.exited);
      }
      this.pending.clear();
    });
  }

  call<T>(request: Call): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker ${this.child.pid}: ${request.op} timed out`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ ...request, id } satisfies Request);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.call({ op: 'close' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }
}

const mean = (xs: number[]) => (xs.length ? sum(xs) / xs.length : 0);

/** Grows a room to `size` members one join at a time, clients spread over `workers` processes. */
export async function buildRoomOnWorkers(
  size: number,
  options: { workers: number; timeoutMs: number; onJoin?: (r: JoinRecord) => void },
): Promise<JoinRecord[]> {
  const relay = await startBenchRelay({}, size + 5);
  const roomName = `join-${Date.now().toString(36)}`;
  const views = new Map<string, SessionView>();
  let waiter: { check: () => boolean; done: (at: number) => void } | null = null;
  const onSession = (nick: string, view: SessionView) => {
    views.set(nick, view);
    if (waiter?.check()) {
      const w = waiter;
      waiter = null;
      w.done(performance.now());
    }
  };
  const self = fileURLToPath(import.meta.url);
  const procs = Array.from(
    { length: options.workers },
    () =>
      new WorkerProcess(
        fork(self, [WORKER_FLAG, relay.url, roomName], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
        options.timeoutMs,
        onSession,
      ),
  );
  const members: string[] = [];
  const records: JoinRecord[] = [];
  const quiet = () => Promise.all(procs.map((p) => p.call({ op: 'quiet' })));
  const snapshots = () => Promise.all(procs.map((p) => p.call<WorkerSnapshot>({ op: 'snapshot' })));
  try {
    for (let i = 1; i <= size; i++) {
      const nick = `m${String(i).padStart(3, '0')}`;
      const host = procs[(i - 1) % procs.length] as WorkerProcess;
      await host.call({ op: 'connect', nick });
      await quiet();
      const before = await snapshots();
      const relayCpu = relay.cpuSeconds();
      members.push(nick);
      const n = members.length;
      const converged = () => {
        const first = views.get(members[0] as string);
        if (!first?.sid) return false;
        return members.every((m) => {
          const v = views.get(m);
          return v !== undefined && v.member && v.size === n && v.sid === first.sid;
        });
      };
      const t0 = performance.now();
      const done = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`room did not converge to ${n} in ${options.timeoutMs} ms`));
        }, options.timeoutMs);
        waiter = {
          check: converged,
          done: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
      });
      await host.call({ op: 'join', nick });
      const doneAt = await done;
      await quiet(); // anything the join still sends belongs to it
      const after = await snapshots();
      const relayCpuAfter = relay.cpuSeconds();
      const record = toRecord(nick, n, (doneAt - t0) / 1000, before, after);
      record.relayCpuMs =
        relayCpu === undefined || relayCpuAfter === undefined
          ? null
          : (relayCpuAfter - relayCpu) * 1000;
      records.push(record);
      options.onJoin?.(record);
    }
    return records;
  } finally {
    await Promise.all(procs.map((p) => p.close()));
    await relay.stop();
  }
}

function toRecord(
  joiner: string,
  n: number,
  seconds: number,
  before: WorkerSnapshot[],
  after: WorkerSnapshot[],
): JoinRecord {
  const was = (w: number) => before[w] as WorkerSnapshot;
  const members = after.flatMap((a, w) =>
    Object.entries(a.clients).map(([nick, stats]) => ({
      stats: diffStats(stats, was(w).clients[nick]),
      joiner: nick === joiner,
    })),
  );
  const traffic = after.map((a, w) => diffTraffic(a.traffic, was(w).traffic));
  // Every worker sees every message its clients receive; the one that saw the most messages
  // (the one hosting the oldest member) saw them all. Deliveries add up across workers.
  const widest = traffic.reduce((x, y) => (y.messages > x.messages ? y : x));
  return joinRecord({
    n,
    seconds,
    members,
    processCpuMs: sum(after.map((a, w) => a.cpuMicros - was(w).cpuMicros)) / 1000,
    // The mean over the workers: with W processes "waiting on the relay" is per process.
    idleSeconds: mean(after.map((a, w) => a.idleMs - was(w).idleMs)) / 1000,
    relayCpuMs: null,
    traffic: {
      messages: widest.messages,
      bytes: widest.bytes,
      deliveries: sum(traffic.map((t) => t.deliveries)),
      bytesDelivered: sum(traffic.map((t) => t.bytesDelivered)),
      byType: widest.byType,
    },
  });
}

/** The worker side: a BenchRoom hosting some of the clients, driven over IPC. */
async function workerMain(url: string, roomName: string): Promise<void> {
  const send = (m: WorkerMessage) => process.send?.(m);
  const transport = await openTransport({ kind: 'socket', url });
  const room = new BenchRoom(transport, roomName);
  const connected = new Map<string, BenchClient>();
  const reported = new Map<string, string>();
  const report = () => {
    for (const c of room.clients) {
      const key = `${c.currentSid}|${c.currentSize}|${c.engine.isMember}`;
      if (reported.get(c.nick) === key) continue;
      reported.set(c.nick, key);
      send({
        kind: 'session',
        nick: c.nick,
        sid: c.currentSid,
        size: c.currentSize,
        member: c.engine.isMember,
      });
    }
  };
  const sessionChanged = room.sessionChanged.bind(room);
  room.sessionChanged = () => {
    sessionChanged();
    report();
  };
  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'connect': {
        connected.set(req.nick, await room.connect(req.nick));
        return undefined;
      }
      case 'join': {
        const client = connected.get(req.nick);
        if (!client) throw new Error(`${req.nick} is not connected here`);
        await room.join(client);
        return undefined;
      }
      case 'quiet':
        await room.quiet();
        return undefined;
      case 'snapshot': {
        const cpu = process.cpuUsage();
        const snapshot: WorkerSnapshot = {
          clients: Object.fromEntries(room.clients.map((c) => [c.nick, c.snapshot()])),
          traffic: { ...room.traffic, byType: { ...room.traffic.byType } },
          cpuMicros: cpu.user + cpu.system,
          idleMs: performance.eventLoopUtilization().idle,
        };
        return snapshot;
      }
      case 'close':
        room.close();
        await transport.close();
        return undefined;
    }
  };
  process.on('message', (req: Request) => {
    handle(req).then(
      (value) => {
        // After the reply to `close` is out, the worker ends.
        if (req.op === 'close')
          process.send?.({ kind: 'reply', id: req.id, ok: true }, () => process.exit(0));
        else send({ kind: 'reply', id: req.id, ok: true, value });
      },
      (err: unknown) =>
        send({
          kind: 'reply',
          id: req.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        }),
    );
  });
  // The coordinator going away ends the worker too.
  process.on('disconnect', () => process.exit(0));
}

const flag = process.argv.indexOf(WORKER_FLAG);
if (flag >= 0) {
  const [url, roomName] = process.argv.slice(flag + 1);
  if (!url || !roomName) throw new Error(`usage: ${WORKER_FLAG} URL ROOM`);
  workerMain(url, roomName).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
