// A client that stops reading must not exhaust the relay's memory nor hold the others up: past
// `limits.maxBufferedBytes` queued for it, the relay disconnects it (it may resume later).
import type { Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../src-main/relay';
import { startRelay } from '../../src-main/relay';
import { ok, TestClient } from './helpers';

let relay: RunningRelay | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.disconnect();
  await relay?.close();
  relay = undefined;
});

/** The TCP socket under a socket.io-client WebSocket connection (Node's `ws` keeps it here). */
function tcpOf(client: TestClient): TcpSocket {
  const engine = client.socket.io.engine as unknown as {
    transport: { ws: { _socket: TcpSocket } };
  };
  return engine.transport.ws._socket;
}

describe('slow consumers', () => {
  it('a client that stops reading is disconnected; the others keep receiving everything', async () => {
    relay = await startRelay({
      limits: { maxBufferedBytes: 256 * 1024, eventsPerSecond: 100_000, burst: 100_000 },
    });
    const [sleeper, alice, bob] = await Promise.all(
      [0, 1, 2].map(() => TestClient.connect(relay!.url)),
    );
    if (!sleeper || !alice || !bob) throw new Error('clients missing');
    clients.push(sleeper, alice, bob);
    for (const [c, nick] of [
      [sleeper, 'sleeper'],
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      ok(await c.join({ room: 'r', nick }));
    }
    const dropped = new Promise<string>((resolve) => sleeper.socket.on('disconnect', resolve));
    tcpOf(sleeper).pause(); // stops reading: the kernel buffers fill, then the relay's queue

    // 48 MiB of traffic, far beyond loopback socket buffers plus the 256 KiB allowance.
    const payload = new Uint8Array(60 * 1024).fill(7);
    let lastSeq = 0;
    for (let i = 0; i < 800; i++) lastSeq = ok(await alice.send('r', payload)).seq;
    await bob.untilSeq('r', lastSeq, 20_000);
    const bobSeqs = bob.of('r').map((e) => e.seq);
    expect(bobSeqs).toEqual(
      Array.from({ length: bobSeqs.length }, (_, i) => (bobSeqs[0] ?? 0) + i),
    );

    tcpOf(sleeper).resume();
    expect(await dropped).toBeTruthy();
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/conclave_relay_rejections_total\{code="SLOW_CONSUMER"\} [1-9]/);
  }, 60_000);
});
