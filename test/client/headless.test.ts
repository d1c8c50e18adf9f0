// Issue 4's proof with real processes: a real relay on 127.0.0.1, headless clients as separate
// processes, real SQLite files and libsodium.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../src-main/relay';
import { startRelay } from '../../src-main/relay';
import type { Event } from './headless';
import { currentOf, Headless, sameRoom } from './headless';

// Long enough for a killed client to restart inside it on a loaded 2-core machine (tsx, libsodium
// and SQLite start-up took over 2 s there), short enough that the after-grace steps stay quick.
const GRACE_MS = 6_000;
let relay: RunningRelay;
let dir: string;
const running: Headless[] = [];

function client(nick: string, room = 'team', args: string[] = []): Headless {
  const h = Headless.spawn({ relay: relay.url, room, nick, dataDir: join(dir, nick), args });
  running.push(h);
  return h;
}

async function statesOf(clients: Headless[]): Promise<Event[]> {
  return Promise.all(clients.map((c) => c.state()));
}

async function converge(clients: Headless[], members: string[], ms = 45_000): Promise<string> {
  const end = Date.now() + ms;
  let states: Event[] = [];
  while (Date.now() < end) {
    states = await statesOf(clients);
    if (sameRoom(states, members)) return currentOf(states[0] as Event)!.sid;
    await new Promise((r) => setTimeout(r, 400));
  }
  throw new Error(
    `no convergence on ${members.join(',')}: ${JSON.stringify(states.map(currentOf))}`,
  );
}

async function exchange(clients: Headless[], tag: string): Promise<void> {
  const waits = clients.flatMap((receiver) =>
    clients.map((sender) =>
      receiver.waitFor(
        (e) => e.event === 'message' && e['text'] === `${tag} from ${sender.nick}`,
        20_000,
        `${tag} from ${sender.nick}`,
      ),
    ),
  );
  for (const c of clients) c.command({ cmd: 'send', text: `${tag} from ${c.nick}` });
  try {
    await Promise.all(waits);
  } catch (error) {
    const tails = clients.map(
      (c) => `${c.nick}: ${JSON.stringify(c.events.filter((e) => e.event !== 'state').slice(-8))}`,
    );
    throw new Error(`${String(error)}\n${tails.join('\n')}`);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-headless-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0, graceMs: GRACE_MS });
});

afterAll(async () => {
  for (const h of running) h.kill('SIGKILL');
  await Promise.all(running.map((h) => h.exited));
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('headless clients over a real relay', () => {
  it('one member creates the room, five join at once; chat; two leave at once; crash and resume', async () => {
    const alice = client('alice');
    alice.command({ cmd: 'join' });
    await alice.waitFor(
      (e) => e.event === 'join-phase' && e['phase'] === 'member',
      30_000,
      'membership',
    );
    // Two of them check signatures on the main thread only, one with two worker threads.
    const threads: Record<string, string> = { bob: '0', carol: '2', dave: '0' };
    const joiners = ['bob', 'carol', 'dave', 'erin', 'frank'].map((n) =>
      client(n, 'team', threads[n] ? ['--verify-threads', threads[n]] : []),
    );
    await Promise.all(joiners.map((j) => j.waitFor((e) => e.event === 'ready', 30_000, 'ready')));
    for (const j of joiners) j.command({ cmd: 'join' });
    const six = [alice, ...joiners];
    const sid = await converge(
      six,
      six.map((c) => c.nick),
    );
    expect(sid).toMatch(/^[0-9a-f]{64}$/);
    await exchange(six, 'hello');
    for (const [c, state] of (await statesOf(six)).map((s, i) => [six[i], s] as const)) {
      const verification = state['verification'] as { threads: number; failed: number } | null;
      if (threads[c?.nick ?? ''] === '0') expect(verification, c?.nick).toBeNull();
      else {
        expect(verification?.threads, c?.nick).toBe(threads[c?.nick ?? ''] === '2' ? 2 : 1);
        expect(verification?.failed, c?.nick).toBe(0);
      }
    }

    // Two leave at once; the rest converge.
    const [bob, carol, dave, erin, frank] = joiners as [
      Headless,
      Headless,
      Headless,
      Headless,
      Headless,
    ];
    await Promise.all([erin.quit(), frank.quit()]);
    const four = [alice, bob, carol, dave];
    await converge(four, ['alice', 'bob', 'carol', 'dave']);
    await exchange(four, 'after-leave');

    // dave is killed; after the grace period the relay reports him gone and the room moves on,
    // while a new joiner comes in.
    dave.kill('SIGKILL');
    const gina = client('gina');
    gina.command({ cmd: 'join' });
    await converge([alice, bob, carol, gina], ['alice', 'bob', 'carol', 'gina'], 60_000);
    expect(alice.events.some((e) => e.event === 'member-left' && e['nick'] === 'dave')).toBe(true);

    // carol crashes and comes back within the grace period: same membership, no `left`.
    const sidBefore = currentOf(await alice.state())!.sid;
    carol.kill('SIGKILL');
    await carol.exited;
    const carol2 = client('carol');
    await carol2.waitFor(
      (e) => e.event === 'connection' && e['state'] === 'connected',
      20_000,
      'reconnect',
    );
    const carolState = await carol2.until(
      (s) => currentOf(s)?.sid === sidBefore,
      15_000,
      'resumed session',
    );
    expect(currentOf(carolState)?.members.sort()).toEqual(['alice', 'bob', 'carol', 'gina']);
    expect(alice.events.some((e) => e.event === 'member-left' && e['nick'] === 'carol')).toBe(
      false,
    );
    await exchange([alice, bob, carol2, gina], 'resumed');

    // bob crashes and returns after the grace period: he rejoins, his history intact.
    bob.kill('SIGKILL');
    await bob.exited;
    await alice.waitFor(
      (e) => e.event === 'member-left' && e['nick'] === 'bob',
      30_000,
      'bob left',
    );
    const bob2 = client('bob');
    await converge([alice, bob2, carol2, gina], ['alice', 'bob', 'carol', 'gina'], 60_000);
    const history = bob2.next((e) => e.event === 'history', 10_000, 'history');
    bob2.command({ cmd: 'history' });
    const texts = ((await history)['messages'] as { text: string }[]).map((m) => m.text);
    expect(texts).toContain('hello from alice');
    expect(texts).toContain('after-leave from dave');
    await exchange([alice, bob2, carol2, gina], 'rejoined');
  }, 240_000);

  it('a client killed and restarted within the grace period announces its restored session unasked', async () => {
    // Its own relay with a long grace period: the restart must land inside it even on a
    // loaded machine (the process start is what takes time here).
    const own = await startRelay({ host: '127.0.0.1', port: 0, graceMs: 20_000 });
    const spawnOn = (nick: string) => {
      const h = Headless.spawn({ relay: own.url, room, nick, dataDir: join(dir, `own-${nick}`) });
      running.push(h);
      return h;
    };
    const room = 'restored';
    const a = spawnOn('ada');
    a.command({ cmd: 'join' });
    await a.waitFor((e) => e.event === 'join-phase' && e['phase'] === 'member', 30_000, 'ada in');
    const b = spawnOn('ben');
    await b.waitFor((e) => e.event === 'ready', 30_000, 'ready');
    b.command({ cmd: 'join' });
    const sid = await converge([a, b], ['ada', 'ben']);
    b.kill('SIGKILL');
    await b.exited;
    const b2 = spawnOn('ben');
    // No `state` command is sent to b2: the events alone must say where it stands.
    const restored = await b2.waitFor(
      (e) => e.event === 'session' && e['restored'] === true && e['status'] === 'current',
      20_000,
      'restored session event',
    );
    expect(restored['sid']).toBe(sid);
    expect((restored['members'] as string[]).sort()).toEqual(['ada', 'ben']);
    const phase = await b2.waitFor((e) => e.event === 'join-phase' && e['restored'] === true);
    expect(phase['phase']).toBe('member');
    await b2.waitFor((e) => e.event === 'connection' && e['state'] === 'connected', 20_000, 'back');
    expect(b2.events.filter((e) => e.event === 'state')).toEqual([]);
    // A `join` of the room it already holds says the same again.
    const before = b2.events.length;
    b2.command({ cmd: 'join' });
    const again = await b2.next((e) => e.event === 'session' && e['restored'] === true);
    expect(again['sid']).toBe(sid);
    expect(
      b2.events.slice(before).some((e) => e.event === 'joining' && e['restored'] === true),
    ).toBe(true);
    await exchange([a, b2], 'restored');
    await Promise.all([a.quit(), b2.quit()]);
    await own.close();
  }, 90_000);

  it('a relay restart in the middle of a conversation: the room works again within 10 s', async () => {
    const room = 'restart';
    const a = client('ann', room);
    a.command({ cmd: 'join' });
    await a.waitFor((e) => e.event === 'join-phase' && e['phase'] === 'member', 30_000);
    const b = client('ben', room);
    const c = client('cat', room);
    b.command({ cmd: 'join' });
    c.command({ cmd: 'join' });
    await converge([a, b, c], ['ann', 'ben', 'cat']);
    await exchange([a, b, c], 'before');
    const port = relay.port;
    await relay.close();
    relay = await startRelay({ host: '127.0.0.1', port, graceMs: GRACE_MS });
    // converge() fails unless all three are members of one session again within 10 s.
    const started = Date.now();
    await converge([a, b, c], ['ann', 'ben', 'cat'], 10_000);
    console.log(`room working again ${Date.now() - started} ms after the relay restart`);
    await exchange([a, b, c], 'after-restart');
  }, 120_000);

  it('stores no plaintext: message bodies and keys are absent from the database files', async () => {
    const files = readdirSync(join(dir, 'alice')).filter((f) => f.startsWith('conclave.db'));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir, 'alice', f))));
    for (const text of ['hello from alice', 'after-leave from bob', 'resumed from gina']) {
      expect(bytes.includes(Buffer.from(text))).toBe(false);
    }
    expect(bytes.includes(Buffer.from('alice'))).toBe(true); // control: nicks are stored in clear
  });

  it('refuses a bad --verify-threads with a clear error', async () => {
    const bad = client('yan', 'team', ['--verify-threads', 'many']);
    const error = await bad.waitFor((e) => e.event === 'error', 20_000, 'error');
    expect(error).toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(String(error['message'])).toMatch(/--verify-threads/);
    expect(await bad.exited).toBe(2);
  }, 30_000);

  it('a corrupt database gives a clear error and a way out, never a crash loop', async () => {
    const broken = join(dir, 'broken');
    const first = client('zed', 'team', []);
    await first.waitFor((e) => e.event === 'ready');
    await first.quit();
    writeFileSync(join(dir, 'zed', 'conclave.db'), Buffer.alloc(8192, 7));
    const failing = Headless.spawn({
      relay: relay.url,
      room: 'team',
      nick: 'zed',
      dataDir: join(dir, 'zed'),
    });
    running.push(failing);
    const error = await failing.waitFor((e) => e.event === 'error', 20_000, 'error');
    expect(String(error['message'])).toMatch(/move-aside-corrupt/);
    expect(await failing.exited).toBe(2);
    const recovered = client('zed', 'team', ['--move-aside-corrupt']);
    await recovered.waitFor((e) => e.event === 'ready', 20_000, 'ready after moving aside');
    expect(readdirSync(join(dir, 'zed')).some((f) => f.includes('corrupt'))).toBe(true);
    await recovered.quit();
    expect(existsSync(broken)).toBe(false);
  }, 60_000);
});
