// `chat`: a room of n members exchanging messages, all in this process. Three phases in one
// room:
//   - burst: m messages, senders in turn, at most `window` messages in flight (a message is in
//     flight until every other member has it): throughput, latency under that load, and the
//     CHAT verification + decryption rate of each receiver, from its engine.handle time on
//     CHAT frames (frames / seconds of engine time);
//   - rate, all receivers here: `rate` messages per second for `rateSeconds`, every member
//     decrypting in this one process (n receivers' work on one thread);
//   - rate, probes: the same offered rate, but only `probes` members (who also send) decrypt;
//     the others are still in the room and receive every frame through the relay, but skip
//     the engine step, as their decryption would happen on their own machines. This is the
//     latency one user sees; the phase above shows what co-locating n clients costs.
// Latency: from the sender's send-chat command to the receiver's `message` event, for every
// (message, receiver) pair except the sender's own copy.
import type { BenchClient, ClientStats } from './harness';
import { BenchRoom, diffStats, diffTraffic } from './harness';
import type { Transport } from './harness';
import { buildRoom } from './join';
import { fmt, fmtInt, markdownTable, percentile, round, sleep, sortedCopy, sum } from './common';

export interface ChatOptions {
  n: number;
  m: number;
  rate: number;
  rateSeconds: number;
  window: number;
  probes: number;
  textBytes: number;
  timeoutMs?: number;
}

export interface ChatPhase {
  phase: 'burst' | 'rate-all' | 'rate-probes';
  receivers: number;
  senders: number;
  messages: number;
  offeredRate: number | null;
  seconds: number;
  messagesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** CHAT frames each receiver verified and decrypted per second of its engine time (mean). */
  verifyDecryptPerSecond: number;
  /** The slowest receiver's rate. */
  verifyDecryptPerSecondMin: number;
  /** Engine time per CHAT frame (mean over receivers). */
  microsPerFrame: number;
  relayMessages: number;
  relayBytes: number;
  deliveries: number;
  complete: boolean;
}

export interface ChatSummary {
  n: number;
  verifyDecryptPerSecond: number;
  burstMessagesPerSecond: number;
  burstP50Ms: number;
  burstP99Ms: number;
  rate: number;
  p50AtRateMs: number;
  p99AtRateMs: number;
  p99AtRateAllInProcessMs: number;
}

class LatencyLog {
  private values = new Float64Array(1 << 14);
  count = 0;
  add(v: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = v;
  }
  sorted(): Float64Array {
    return sortedCopy(this.values.subarray(0, this.count));
  }
}

export async function runChat(
  transport: Transport,
  options: ChatOptions,
): Promise<{ build: number; phases: ChatPhase[] }> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const room = new BenchRoom(transport, `chat-${options.n}-${Date.now().toString(36)}`);
  try {
    const build = await buildRoom(room, options.n, { timeoutMs });
    await room.quiet();
    const filler = 'x'.repeat(Math.max(0, options.textBytes - 8));
    let nextId = 0;

    const phase = async (
      name: ChatPhase['phase'],
      senders: BenchClient[],
      receivers: BenchClient[],
      plan: { count: number; rate: number | null; window: number },
    ): Promise<ChatPhase> => {
      for (const c of room.clients) c.passiveChat = !receivers.includes(c);
      const first = nextId;
      const sentAt = new Float64Array(plan.count);
      const sender = new Int32Array(plan.count);
      const got = new Uint16Array(plan.count);
      const receiverSet = new Set(receivers);
      const latencies = new LatencyLog();
      let completed = 0;
      let wake: (() => void) | null = null;
      // A message is complete when every receiver other than its sender has it.
      const need = (i: number) =>
        receivers.length - (receiverSet.has(senders[sender[i] as number] as BenchClient) ? 1 : 0);
      room.chatListener = (receiver, from, text) => {
        const id = Number.parseInt(text, 10) - first;
        if (!(id >= 0 && id < plan.count) || receiver.nick === from) return;
        latencies.add(performance.now() - (sentAt[id] as number));
        got[id] = (got[id] as number) + 1;
        if (got[id] === need(id)) {
          completed++;
          wake?.();
        }
      };
      const before = new Map<BenchClient, ClientStats>(
        receivers.map((c) => [c, c.snapshot()] as const),
      );
      const traffic = { ...room.traffic, byType: { ...room.traffic.byType } };
      const send = (i: number) => {
        const s = i % senders.length;
        sender[i] = s;
        sentAt[i] = performance.now();
        (senders[s] as BenchClient).run({
          kind: 'send-chat',
          text: `${first + i} ${filler}`,
          at: Date.now(),
        });
      };
      const started = performance.now();
      const deadline = started + timeoutMs;
      let sent = 0;
      if (plan.rate === null) {
        while (completed < plan.count && performance.now() < deadline) {
          while (sent < plan.count && sent - completed < plan.window) send(sent++);
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 50);
          });
          wake = null;
        }
      } else {
        while (sent < plan.count && performance.now() < deadline) {
          const due = Math.min(
            plan.count,
            Math.floor(((performance.now() - started) / 1000) * plan.rate) + 1,
          );
          while (sent < due) send(sent++);
          await sleep(1);
        }
        while (completed < plan.count && performance.now() < deadline) await sleep(5);
      }
      const seconds = (performance.now() - started) / 1000;
      nextId += plan.count;
      room.chatListener = null;
      await room.quiet();
      const t = diffTraffic(room.traffic, traffic);
      const rates = receivers.map((c) => {
        const d = diffStats(c.snapshot(), before.get(c));
        const micros = d.chatCpuMicros / Math.max(1, d.chatFrames);
        return { perSecond: 1e6 / micros, micros };
      });
      const sorted = latencies.sorted();
      return {
        phase: name,
        receivers: receivers.length,
        senders: senders.length,
        messages: plan.count,
        offeredRate: plan.rate,
        seconds,
        messagesPerSecond: completed / seconds,
        latencyMs: {
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          max: percentile(sorted, 100),
        },
        verifyDecryptPerSecond: sum(rates.map((r) => r.perSecond)) / rates.length,
        verifyDecryptPerSecondMin: Math.min(...rates.map((r) => r.perSecond)),
        microsPerFrame: sum(rates.map((r) => r.micros)) / rates.length,
        relayMessages: t.messages,
        relayBytes: t.bytes,
        deliveries: t.deliveries,
        complete: completed === plan.count,
      };
    };

    const everyone = [...room.clients];
    const probes = everyone.slice(0, Math.max(2, Math.min(options.probes, everyone.length)));
    const rateCount = Math.max(1, Math.round(options.rate * options.rateSeconds));
    const phases: ChatPhase[] = [];
    phases.push(
      await phase('burst', everyone, everyone, {
        count: options.m,
        rate: null,
        window: options.window,
      }),
    );
    phases.push(
      await phase('rate-all', everyone, everyone, {
        count: rateCount,
        rate: options.rate,
        window: 0,
      }),
    );
    // Last: the passive members miss these frames, so their transcripts no longer match.
    phases.push(
      await phase('rate-probes', probes, probes, {
        count: rateCount,
        rate: options.rate,
        window: 0,
      }),
    );
    return { build: sum(build.map((r) => r.seconds)), phases };
  } finally {
    room.close();
  }
}

export function summarizeChat(n: number, rate: number, phases: readonly ChatPhase[]): ChatSummary {
  const get = (p: ChatPhase['phase']) => phases.find((x) => x.phase === p) as ChatPhase;
  const burst = get('burst');
  const probes = get('rate-probes');
  const all = get('rate-all');
  return {
    n,
    verifyDecryptPerSecond: Math.round(burst.verifyDecryptPerSecond),
    burstMessagesPerSecond: Math.round(burst.messagesPerSecond),
    burstP50Ms: round(burst.latencyMs.p50, 2),
    burstP99Ms: round(burst.latencyMs.p99, 2),
    rate,
    p50AtRateMs: round(probes.latencyMs.p50, 2),
    p99AtRateMs: round(probes.latencyMs.p99, 2),
    p99AtRateAllInProcessMs: round(all.latencyMs.p99, 2),
  };
}

export function chatTable(phases: readonly ChatPhase[]): string {
  return markdownTable(
    [
      'phase',
      'receivers decrypting',
      'senders',
      'messages',
      'offered msg/s',
      'achieved msg/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      'verify+decrypt/s per receiver',
      'slowest receiver /s',
      'µs per CHAT',
      'relay bytes',
    ],
    phases.map((p) => [
      p.phase + (p.complete ? '' : ' (incomplete)'),
      p.receivers,
      p.senders,
      p.messages,
      p.offeredRate === null ? 'max' : fmtInt(p.offeredRate),
      fmtInt(p.messagesPerSecond),
      fmt(p.latencyMs.p50, 2),
      fmt(p.latencyMs.p90, 2),
      fmt(p.latencyMs.p99, 2),
      fmt(p.latencyMs.max, 1),
      fmtInt(p.verifyDecryptPerSecond),
      fmtInt(p.verifyDecryptPerSecondMin),
      fmt(p.microsPerFrame, 1),
      fmtInt(p.relayBytes),
    ]),
  );
}
