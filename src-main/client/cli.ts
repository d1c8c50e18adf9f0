// The headless client: `npm run client -- --relay URL --room NAME --nick NICK [--data DIR]
// [--passphrase-env VAR] [--verify-threads N] [--admission open|knock|invite]`. Commands arrive as JSON lines on stdin, events
// leave as JSON lines on stdout, logs go to stderr. Bad commands get an `error` event and the client keeps running.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { cryptoBackendFromEnv } from '../host/crypto-choice';
import {
  ADMISSION_OPTION_ERROR,
  isAdmissionPolicy,
  type AdmissionPolicy,
} from '../../src-shared/api';
import { engineEventLine, sessionLine } from './cli-lines';
import { ApiFailure } from './errors';
import type { ClientRuntime } from './runtime';
import { createClientRuntime } from './runtime';
import { isVerifyThreads } from './verify-pool';

const { values } = parseArgs({
  options: {
    relay: { type: 'string' },
    room: { type: 'string' },
    nick: { type: 'string' },
    data: { type: 'string' },
    'passphrase-env': { type: 'string', default: 'CONCLAVE_PASSPHRASE' },
    token: { type: 'string' },
    'move-aside-corrupt': { type: 'boolean', default: false },
    'limbo-timeout-ms': { type: 'string' },
    'join-retry-ms': { type: 'string' },
    'fast-kdf': { type: 'boolean', default: false },
    'verify-threads': { type: 'string' },
    /** The policy of a room this client founds: open, knock (default) or invite. */
    admission: { type: 'string' },
  },
});

function out(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function fatal(code: string, message: string): never {
  out({ event: 'error', code, message });
  console.error(`conclave client: ${message}`);
  process.exit(2);
}

const relay = values.relay;
const room = values.room;
const nick = values.nick;
if (!relay || !room || !nick)
  fatal('BAD_ARGUMENT', 'usage: --relay URL --room NAME --nick NICK [--data DIR]');
const passphrase = process.env[values['passphrase-env']];
if (passphrase === undefined) {
  fatal('LOCKED', `set the passphrase in the environment variable ${values['passphrase-env']}`);
}
const dataDir = values.data ?? join(homedir(), '.local', 'share', 'conclave', `headless-${nick}`);
const number = (raw: string | undefined) => (raw === undefined ? undefined : Number(raw));
const verifyThreads = number(values['verify-threads']);
if (verifyThreads !== undefined && !isVerifyThreads(verifyThreads)) {
  fatal('BAD_ARGUMENT', '--verify-threads takes a whole number from 0 to 64');
}
const admission = values.admission;
if (admission !== undefined && !isAdmissionPolicy(admission)) {
  fatal('BAD_ARGUMENT', ADMISSION_OPTION_ERROR);
}
const limbo = number(values['limbo-timeout-ms']);
const retry = number(values['join-retry-ms']);

let runtime: ClientRuntime;
try {
  runtime = await createClientRuntime({
    dataDir,
    passphrase,
    defaultRelayUrl: relay,
    ...(values.token ? { relayToken: values.token } : {}),
    moveAsideCorrupt: values['move-aside-corrupt'],
    cryptoBackend: cryptoBackendFromEnv(),
    // A script's client keeps trying its relay (the app gives up and offers Retry instead).
    giveUpAfterMs: 0,
    ...(verifyThreads !== undefined ? { verifyThreads } : {}),
    ...(admission !== undefined ? { admission } : {}),
    ...(values['fast-kdf'] ? { argon2: { opsLimit: 1, memLimit: 8 * 1024 * 1024 } } : {}),
    engine: {
      ...(limbo !== undefined ? { limboTimeoutMs: limbo } : {}),
      ...(retry !== undefined ? { joinRetryMs: retry } : {}),
    },
  });
} catch (error) {
  if (error instanceof ApiFailure) fatal(error.code, error.message);
  fatal('INTERNAL', error instanceof Error ? error.message : String(error));
}

const identity =
  (await runtime.handlers.identity(null)) ?? (await runtime.handlers.createIdentity(null));
out({ event: 'ready', nick, fingerprint: identity.fingerprint });

let roomId: string | null =
  (await runtime.handlers.listRooms(null)).find(
    (r) => r.relayUrl === relay && r.room === room && r.phase !== 'left',
  )?.id ?? null;

runtime.subscribeEngine((id, e) => {
  if (id !== roomId) return;
  const line = engineEventLine(e);
  if (line) out(line);
});
runtime.subscribe((e) => {
  if (
    e.type === 'notice' &&
    e.roomId === roomId &&
    e.notice.kind === 'warning' &&
    e.notice.seq === 0
  ) {
    out({ event: 'warning', code: 'client', message: e.notice.text });
  }
  if (e.type === 'outbox' && e.roomId === roomId) {
    for (const p of e.pending) {
      if (p.state !== 'failed' || reportedFailures.has(p.id)) continue;
      reportedFailures.add(p.id);
      out({ event: 'warning', code: 'send-failed', message: p.error });
    }
  }
  if (e.type === 'room-updated' && e.roomId === roomId) {
    const connection = e.state.connection;
    if (connection !== lastConnection) {
      lastConnection = connection;
      out({ event: 'connection', state: connection, detail: e.state.phaseDetail });
    }
  }
});
let lastConnection = '';
const reportedFailures = new Set<string>();

/**
 * Where a room we already hold stands, said without being asked (issue 11, finding 3): each
 * session restored from the store that is not dead, with `restored: true`, then the join phase,
 * the members and the connection phase. Emitted at start and on `join` of a held room.
 */
async function announceRestored(id: string): Promise<void> {
  const state = await runtime.handlers.roomState({ roomId: id });
  for (const s of state.sessions) {
    if (s.status === 'dead') continue;
    out(sessionLine(s, { restored: true }));
  }
  out({ event: 'join-phase', phase: state.phase, detail: 'restored', restored: true });
  out({
    event: 'members',
    members: state.members.map((m) => ({ nick: m.nick, state: m.state })),
    restored: true,
  });
  lastConnection = state.connection;
  out({ event: 'connection', state: state.connection, detail: state.phaseDetail, restored: true });
}
if (roomId) await announceRestored(roomId);

const commandSchema = v.variant('cmd', [
  v.object({ cmd: v.literal('join') }),
  v.object({ cmd: v.literal('send'), text: v.string() }),
  v.object({ cmd: v.literal('leave') }),
  v.object({ cmd: v.literal('state') }),
  v.object({ cmd: v.literal('history'), limit: v.optional(v.number()) }),
  v.object({ cmd: v.literal('quit') }),
  /** Admission (docs/PROTOCOL.md "Admission policy"): a member answers a knock, sets the policy. */
  v.object({ cmd: v.literal('admit'), nick: v.string() }),
  v.object({ cmd: v.literal('decline'), nick: v.string() }),
  v.object({ cmd: v.literal('policy'), policy: v.picklist(['open', 'knock', 'invite']) }),
]);

/** A member's admission commands (docs/PROTOCOL.md "Admission policy"). */
async function admissionCommand(
  id: string | null,
  cmd: { cmd: 'admit' | 'decline'; nick: string } | { cmd: 'policy'; policy: AdmissionPolicy },
): Promise<void> {
  if (!id) throw new ApiFailure('UNKNOWN_ROOM', 'join first');
  if (cmd.cmd === 'policy') {
    await runtime.handlers.setAdmission({ roomId: id, policy: cmd.policy });
    return;
  }
  const state = await runtime.handlers.roomState({ roomId: id });
  const knock = state.admission?.knocks.find((k) => k.nick === cmd.nick);
  if (!knock) throw new ApiFailure('BAD_ARGUMENT', `${cmd.nick} is not asking to join`);
  const admit = cmd.cmd === 'admit';
  await runtime.handlers.answerKnock({ roomId: id, nick: cmd.nick, seq: knock.seq, admit });
}

async function stateEvent(id: string | null): Promise<Record<string, unknown>> {
  if (!id) return { event: 'state', current: null, sessions: [], members: [], phase: 'not-joined' };
  const state = await runtime.handlers.roomState({ roomId: id });
  return {
    event: 'state',
    current: state.current,
    phase: state.phase,
    connection: state.connection,
    admission: state.admission,
    members: state.members.map((m) => ({
      nick: m.nick,
      state: m.state,
      fingerprint: m.fingerprint,
    })),
    sessions: state.sessions.map((s) => {
      const { event: _, ...line } = sessionLine(s);
      return line;
    }),
    verification: state.verification,
  };
}

async function handle(line: string): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    out({ event: 'error', code: 'BAD_COMMAND', message: 'not JSON' });
    return;
  }
  const parsed = v.safeParse(commandSchema, raw);
  if (!parsed.success) {
    out({
      event: 'error',
      code: 'BAD_COMMAND',
      message: parsed.issues[0]?.message ?? 'unknown command',
    });
    return;
  }
  const cmd = parsed.output;
  try {
    switch (cmd.cmd) {
      case 'join': {
        const held = roomId;
        const summary = await runtime.handlers.joinRoom({
          relayUrl: relay as string,
          room: room as string,
          nick: nick as string,
        });
        roomId = summary.id;
        out({ event: 'joining', room, roomId, ...(held === summary.id ? { restored: true } : {}) });
        if (held === summary.id) await announceRestored(summary.id);
        break;
      }
      case 'admit':
      case 'decline':
      case 'policy':
        await admissionCommand(roomId, cmd);
        break;
      case 'send':
        if (!roomId) throw new ApiFailure('UNKNOWN_ROOM', 'join first');
        await runtime.handlers.sendMessage({ roomId, text: cmd.text });
        break;
      case 'leave':
        if (!roomId) throw new ApiFailure('UNKNOWN_ROOM', 'join first');
        await runtime.handlers.leaveRoom({ roomId });
        out({ event: 'left', room });
        roomId = null;
        break;
      case 'state':
        out(await stateEvent(roomId));
        break;
      case 'history': {
        if (!roomId) throw new ApiFailure('UNKNOWN_ROOM', 'join first');
        const messages = await runtime.handlers.history({ roomId, limit: cmd.limit ?? 500 });
        out({
          event: 'history',
          messages: messages.map((m) => ({ from: m.from, text: m.text, sid: m.sid, seq: m.seq })),
        });
        break;
      }
      case 'quit':
        await quit();
        break;
    }
  } catch (error) {
    if (error instanceof ApiFailure)
      out({ event: 'error', code: error.code, message: error.message });
    else
      out({
        event: 'error',
        code: 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
      });
  }
}

let quitting = false;
async function quit(): Promise<void> {
  if (quitting) return;
  quitting = true;
  if (roomId) {
    try {
      await runtime.handlers.leaveRoom({ roomId });
    } catch (error) {
      console.error('leave failed', error);
    }
  }
  await runtime.close();
  out({ event: 'bye' });
  process.exit(0);
}

let chain = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  chain = chain.then(() => handle(line));
});
rl.on('close', () => {
  // stdin closed without quit: stop without leaving (a crash-like exit keeps our place).
  void chain.then(async () => {
    if (!quitting) {
      await runtime.close();
      process.exit(0);
    }
  });
});
process.on('SIGTERM', () => void quit());
process.on('SIGINT', () => void quit());
