// The client runtime in-process (the API the renderer and IPC use), over a real relay.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '../../src-shared/api';
import { ApiFailure } from '../../src-main/client/errors';
import type { ClientRuntime } from '../../src-main/client/runtime';
import { createClientRuntime } from '../../src-main/client/runtime';
import type { AppEvent } from '../../src-main/protocol/events';
import type { RunningRelay } from '../../src-main/relay';
import { startRelay } from '../../src-main/relay';
import { pollUntil } from './until';

let relay: RunningRelay;
let dir: string;
const open: ClientRuntime[] = [];

async function runtime(name: string, verifyThreads?: number): Promise<ClientRuntime> {
  const rt = await createClientRuntime({
    ...(verifyThreads === undefined ? {} : { verifyThreads }),
    dataDir: join(dir, name),
    passphrase: 'pw',
    argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 },
    defaultRelayUrl: relay.url,
    engine: { limboTimeoutMs: 3_000, joinRetryMs: 2_000 },
    // Rooms these tests found admit everyone (docs/PROTOCOL.md "Admission policy").
    admission: 'open',
  });
  open.push(rt);
  return rt;
}

function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  return pollUntil(check, ms, 100);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-runtime-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 500 });
});

afterAll(async () => {
  for (const rt of open) await rt.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('client runtime', () => {
  it('refuses bad arguments with typed errors and needs an identity first', async () => {
    const rt = await runtime('checks');
    await expect(
      rt.handlers.joinRoom({ relayUrl: relay.url, room: 'x', nick: 'a' }),
    ).rejects.toMatchObject({
      code: 'NO_IDENTITY',
    });
    await rt.handlers.createIdentity(null);
    await expect(
      rt.handlers.joinRoom({ relayUrl: 'ftp://x', room: 'x', nick: 'a' }),
    ).rejects.toBeInstanceOf(ApiFailure);
    await expect(
      rt.handlers.joinRoom({ relayUrl: relay.url, room: 'x', nick: 'bad\u0007nick' }),
    ).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
    await expect(rt.handlers.roomState({ roomId: '999' })).rejects.toMatchObject({
      code: 'UNKNOWN_ROOM',
    });
  });

  it('trust on first use: a changed identity key for a known nick raises a warning until accepted', async () => {
    const a = await runtime('tofu-a');
    await a.handlers.createIdentity(null);
    const warnings: AppEvent[] = [];
    a.subscribeEngine((_room, e) => {
      if (e.type === 'warning' && e.code === 'identity-key-changed') warnings.push(e);
    });
    const roomA = await a.handlers.joinRoom({ relayUrl: relay.url, room: 'tofu', nick: 'alice' });
    await until(async () => (await a.handlers.roomState({ roomId: roomA.id })).phase === 'member');

    const b1 = await runtime('tofu-b1');
    await b1.handlers.createIdentity(null);
    const roomB1 = await b1.handlers.joinRoom({ relayUrl: relay.url, room: 'tofu', nick: 'bob' });
    await until(() => a.room(roomA.id).engine.current?.members.includes('bob' as never));
    const first = (await a.handlers.knownKeys({ roomId: roomA.id })).find((k) => k.nick === 'bob');
    expect(first?.pendingFingerprint).toBeNull();
    await b1.handlers.leaveRoom({ roomId: roomB1.id });
    await until(() => !a.room(roomA.id).engine.current?.members.includes('bob' as never));

    // Another device claims the nick "bob" with a different identity key.
    const b2 = await runtime('tofu-b2');
    await b2.handlers.createIdentity(null);
    await b2.handlers.joinRoom({ relayUrl: relay.url, room: 'tofu', nick: 'bob' });
    await until(() => warnings.length > 0);
    const keys = await a.handlers.knownKeys({ roomId: roomA.id });
    const bob = keys.find((k) => k.nick === 'bob');
    expect(bob?.pendingFingerprint).not.toBeNull();
    expect(bob?.pendingFingerprint).not.toBe(bob?.fingerprint);
    const state = await a.handlers.roomState({ roomId: roomA.id });
    expect(state.members.find((m) => m.nick === 'bob')?.keyChanged).toBe(true);
    await a.handlers.acceptKeyChange({ roomId: roomA.id, nick: 'bob' });
    const after = (await a.handlers.knownKeys({ roomId: roomA.id })).find((k) => k.nick === 'bob');
    expect(after?.pendingFingerprint).toBeNull();
    await a.handlers.markVerified({ roomId: roomA.id, nick: 'bob' });
    expect(
      (await a.handlers.knownKeys({ roomId: roomA.id })).find((k) => k.nick === 'bob')?.verified,
    ).toBe(true);
    const safety = await a.handlers.safetyNumber({ roomId: roomA.id, nick: 'bob' });
    expect(safety).toMatch(/^(\d{5} ){11}\d{5}$/);
  }, 60_000);

  it('messages, events and a debug bundle without secrets', async () => {
    const a = await runtime('chat-a');
    const b = await runtime('chat-b');
    await a.handlers.createIdentity(null);
    await b.handlers.createIdentity(null);
    const events: ClientEvent[] = [];
    b.subscribe((e) => events.push(e));
    const ra = await a.handlers.joinRoom({ relayUrl: relay.url, room: 'chat', nick: 'ann' });
    await until(async () => (await a.handlers.roomState({ roomId: ra.id })).phase === 'member');
    const rb = await b.handlers.joinRoom({ relayUrl: relay.url, room: 'chat', nick: 'ben' });
    await until(async () => (await b.handlers.roomState({ roomId: rb.id })).phase === 'member');
    const blocked = await b.handlers.roomState({ roomId: rb.id });
    expect(blocked.cannotSend).toBeNull();
    await a.handlers.sendMessage({ roomId: ra.id, text: 'secret plans' });
    await until(() =>
      events.find((e) => e.type === 'message' && e.message.text === 'secret plans'),
    );
    const history = await b.handlers.history({ roomId: rb.id });
    expect(history.map((m) => m.text)).toEqual(['secret plans']);
    expect(events.some((e) => e.type === 'notice' && e.notice.kind === 'joined')).toBe(true);
    const bundle = await b.handlers.exportDebug({ roomId: rb.id });
    expect(bundle).toContain('"sessions"');
    expect(JSON.parse(bundle)).toHaveProperty('verification.threads');
    expect(bundle).not.toContain('secret plans');
    expect(bundle).not.toMatch(/secretKey|"sk"|ringSecret/);
    await expect(b.handlers.sendMessage({ roomId: rb.id, text: '' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
  }, 60_000);

  it('verifies signatures ahead on a thread, and rooms mix clients with and without one', async () => {
    const members = [
      { name: 'pool-a', nick: 'amy', threads: 1 },
      { name: 'pool-b', nick: 'bob', threads: 1 },
      { name: 'pool-c', nick: 'cy', threads: 0 },
    ];
    const joined: { rt: ClientRuntime; id: string }[] = [];
    for (const m of members) {
      const rt = await runtime(m.name, m.threads);
      await rt.handlers.createIdentity(null);
      const r = await rt.handlers.joinRoom({ relayUrl: relay.url, room: 'pooled', nick: m.nick });
      await until(async () => (await rt.handlers.roomState({ roomId: r.id })).phase === 'member');
      joined.push({ rt, id: r.id });
    }
    // Everyone ends in the same current session of three.
    const sids = await until(async () => {
      const states = await Promise.all(
        joined.map((j) => j.rt.handlers.roomState({ roomId: j.id })),
      );
      const current = states.map((s) => s.current);
      return current.every((c) => c?.members.length === 3 && c.sid === current[0]?.sid)
        ? current.map((c) => c?.sid)
        : undefined;
    });
    expect(new Set(sids).size).toBe(1);
    expect(joined[2]?.rt.verification()).toBeNull();
    const stats = joined.slice(0, 2).map((j) => j.rt.verification());
    // amy saw bob's and cy's joins, bob saw cy's: their frames went through the pool (each job
    // verified by the thread or taken back and verified inline), and none failed.
    for (const s of stats) {
      expect(s?.threads).toBe(1);
      expect(s?.jobs).toBeGreaterThan(0);
      expect((s?.verified ?? 0) + (s?.stolen ?? 0)).toBe(s?.jobs);
      expect(s?.failedSignatures).toBe(0);
    }
    const text = 'after the pooled join';
    await joined[2]?.rt.handlers.sendMessage({ roomId: joined[2].id, text });
    for (const j of joined.slice(0, 2)) {
      await until(async () =>
        (await j.rt.handlers.history({ roomId: j.id })).some((m) => m.text === text),
      );
    }
  }, 60_000);
});
