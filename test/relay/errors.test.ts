// Every error code of the wire contract, provoked on purpose, and hostile payloads that must
// never take the relay down or disturb other members.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RelayOptionsInput, type RunningRelay } from '../../src-main/relay/index';
import { TestClient, ok } from './helpers';

let relay: RunningRelay | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
});

async function start(options: RelayOptionsInput = {}): Promise<string> {
  relay = await startRelay(options);
  return relay.url;
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  clients.push(c);
  return c;
}

const code = (c: string) => ({ ok: false, error: { code: c } });

describe('error codes', () => {
  it('BAD_REQUEST for malformed join/send/leave, never a crash', async () => {
    const url = await start();
    const c = await client(url);
    expect(await c.join({})).toMatchObject(code('BAD_REQUEST'));
    expect(await c.join({ room: 'r', nick: 42 })).toMatchObject(code('BAD_REQUEST'));
    expect(await c.join({ room: '', nick: 'a' })).toMatchObject(code('BAD_REQUEST'));
    expect(await c.join({ room: 'r', nick: 'a\nb' })).toMatchObject(code('BAD_REQUEST'));
    expect(await c.join({ room: 'r', nick: 'x'.repeat(65) })).toMatchObject(code('BAD_REQUEST'));
    expect(await c.join({ room: 'r', nick: 'a', since: 3 })).toMatchObject(code('BAD_REQUEST'));
    expect(await c.join({ room: 'r', nick: 'a', since: -1, resumeToken: 't' })).toMatchObject(
      code('BAD_REQUEST'),
    );
    ok(await c.join({ room: 'r', nick: 'a' }));
    expect(await c.join({ room: 'r', nick: 'b' })).toMatchObject(code('BAD_REQUEST'));
    const asText = await c.socket.timeout(2_000).emitWithAck('send', { room: 'r', data: 'text' });
    expect(asText).toMatchObject(code('BAD_REQUEST'));
    expect(await c.socket.timeout(2_000).emitWithAck('leave', 'r')).toMatchObject(
      code('BAD_REQUEST'),
    );
    // Requests without an acknowledgement callback are handled too, silently.
    c.socket.emit('send', { room: 'r', data: Buffer.from('no ack') });
    c.socket.emit('join', null);
    expect(ok(await c.send('r', 'still fine')).seq).toBe(3);
  });

  it('random payloads get BAD_REQUEST (or a coded refusal) and the relay keeps serving', async () => {
    const url = await start({ limits: { eventsPerSecond: 100_000, burst: 100_000 } });
    const [fuzzer, bystander] = [await client(url), await client(url)];
    ok(await bystander.join({ room: 'calm', nick: 'b' }));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('join', 'send', 'leave'),
        fc.anything({ withTypedArray: true, maxDepth: 2 }),
        async (event, payload) => {
          const reply: unknown = await fuzzer.socket.timeout(2_000).emitWithAck(event, payload);
          expect(reply).toMatchObject({ ok: expect.any(Boolean) });
        },
      ),
      { numRuns: 150 },
    );
    expect(ok(await bystander.send('calm', 'ok')).seq).toBeGreaterThan(0);
  });

  it('UNAUTHORIZED without the right access token', async () => {
    const url = await start({ token: 's3cret' });
    const c = await client(url);
    expect(await c.join({ room: 'r', nick: 'a' })).toMatchObject(code('UNAUTHORIZED'));
    expect(await c.join({ room: 'r', nick: 'a', token: 's3creT' })).toMatchObject(
      code('UNAUTHORIZED'),
    );
    ok(await c.join({ room: 'r', nick: 'a', token: 's3cret' }));
  });

  it('NICK_TAKEN, ROOM_FULL and TOO_MANY_ROOMS', async () => {
    const url = await start({ limits: { maxMembersPerRoom: 2, maxRoomsPerConnection: 2 } });
    const [a, b, c] = [await client(url), await client(url), await client(url)];
    ok(await a.join({ room: 'r', nick: 'a' }));
    expect(await b.join({ room: 'r', nick: 'a' })).toMatchObject(code('NICK_TAKEN'));
    ok(await b.join({ room: 'r', nick: 'b' }));
    expect(await c.join({ room: 'r', nick: 'c' })).toMatchObject(code('ROOM_FULL'));
    ok(await a.join({ room: 'r2', nick: 'a' }));
    expect(await a.join({ room: 'r3', nick: 'a' })).toMatchObject(code('TOO_MANY_ROOMS'));
  });

  it('PAYLOAD_TOO_LARGE above the configured size', async () => {
    const url = await start({ limits: { maxPayloadBytes: 1024 } });
    const c = await client(url);
    ok(await c.join({ room: 'r', nick: 'a' }));
    ok(await c.send('r', new Uint8Array(1024)));
    expect(await c.send('r', new Uint8Array(1025))).toMatchObject(code('PAYLOAD_TOO_LARGE'));
  });

  it('RATE_LIMITED beyond the burst, and the rejection shows in /metrics', async () => {
    // One token a second: the 13 requests below all land well within that second.
    const url = await start({ limits: { eventsPerSecond: 1, burst: 5 } });
    const c = await client(url);
    ok(await c.join({ room: 'r', nick: 'a' }));
    const replies = await Promise.all(Array.from({ length: 12 }, () => c.send('r', 'x')));
    const limited = replies.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED');
    expect(replies.filter((r) => r.ok)).toHaveLength(4);
    expect(limited).toHaveLength(8);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('conclave_relay_rejections_total{code="RATE_LIMITED"} 8');
  });

  it('NOT_IN_ROOM for send or leave outside a joined room', async () => {
    const url = await start();
    const c = await client(url);
    expect(await c.send('nowhere', 'x')).toMatchObject(code('NOT_IN_ROOM'));
    expect(await c.leave('nowhere')).toMatchObject(code('NOT_IN_ROOM'));
  });

  it('GAP_UNAVAILABLE for a since older than retention', async () => {
    const url = await start({ retention: { count: 3 } });
    const [a, b] = [await client(url), await client(url)];
    const token = ok(await a.join({ room: 'r', nick: 'a' })).resumeToken;
    ok(await b.join({ room: 'r', nick: 'b' }));
    a.drop();
    for (let k = 0; k < 5; k++) ok(await b.send('r', `m${k}`));
    const back = await client(url);
    const reply = await back.join({ room: 'r', nick: 'a', since: 1, resumeToken: token });
    expect(reply).toMatchObject(code('GAP_UNAVAILABLE'));
  });

  it('binds 127.0.0.1 by default, serves /healthz as JSON and 404 elsewhere', async () => {
    const url = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', log: 'memory' });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});
