// The validating dispatcher shared by Electron IPC and the browser host: every method reachable,
// every argument checked against its schema, every failure a Reply (never a throw), no stack or
// internal detail in INTERNAL errors.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { API_METHODS, type ApiMethod } from '../../src-shared/api';
import { ApiFailure } from '../../src-main/client/errors';
import { createDispatch, isApiMethod, toApiError } from '../../src-main/ipc/dispatch';
import { ARG_SCHEMAS } from '../../src-main/ipc/schemas';
import { recordingHandlers, VALID_ARGS } from './fakes';

const quiet = { onInternalError: () => {} };

/** Wrong shapes for each method: each must be refused before the handler runs. */
const BAD_ARGS: { [M in ApiMethod]: unknown[] } = {
  identity: [undefined, {}, 'x', 0],
  createIdentity: [undefined, { nick: 'a' }],
  listRooms: [undefined, []],
  defaultRelayUrl: [{}, 'x'],
  joinRoom: [
    null,
    {},
    { relayUrl: 'http://h', room: 'r' },
    { relayUrl: 'file:///etc/passwd', room: 'r', nick: 'n' },
    { relayUrl: 'not a url', room: 'r', nick: 'n' },
    { relayUrl: 'http://h', room: '', nick: 'n' },
    { relayUrl: 'http://h', room: 'r'.repeat(129), nick: 'n' },
    { relayUrl: 'http://h', room: 'r', nick: 'n'.repeat(65) },
    { relayUrl: 'http://h', room: 'r', nick: 'n', extra: true },
    { relayUrl: 42, room: 'r', nick: 'n' },
    { relayUrl: 'http://h', room: 'r', nick: 'n', token: '' },
    { relayUrl: 'http://h', room: 'r', nick: 'n', token: 'a b' },
    { relayUrl: 'http://h', room: 'r', nick: 'n', admission: 'closed' },
    { relayUrl: 'http://h', room: 'r', nick: 'n', inviteSecret: 'short' },
    { relayUrl: 'http://h', room: 'r', nick: 'n', inviteSecret: `${'A'.repeat(42)}+` },
  ],
  setAdmission: [
    { roomId: '1' },
    { roomId: '1', policy: 'closed' },
    { roomId: '1', policy: 'open', extra: 1 },
  ],
  answerKnock: [
    { roomId: '1', nick: 'bob', seq: 1 },
    { roomId: '1', nick: 'bob', seq: -1, admit: true },
    { roomId: '1', nick: '', seq: 1, admit: false },
    { roomId: '1', nick: 'bob', seq: 1, admit: 'yes' },
  ],
  leaveRoom: [null, {}, { roomId: 1 }, { roomId: '' }, { roomId: 'x'.repeat(33) }],
  sendMessage: [
    { roomId: '1' },
    { roomId: '1', text: '' },
    { roomId: '1', text: 'x'.repeat(16 * 1024 + 1) },
    { roomId: '1', text: ['x'] },
  ],
  roomState: [{ room: '1' }, { roomId: null }],
  history: [
    { roomId: '1', limit: 0 },
    { roomId: '1', limit: 1001 },
    { roomId: '1', limit: 1.5 },
    { roomId: '1', beforeSeq: -1 },
    { roomId: '1', beforeSeq: '3' },
  ],
  notices: [{}, { roomId: {} }],
  eventLog: [
    { roomId: '1', limit: -5 },
    { roomId: '1', limit: Number.NaN },
  ],
  knownKeys: [{ roomId: '1', nick: 'x' }],
  safetyNumber: [{ roomId: '1' }, { roomId: '1', nick: '' }],
  markVerified: [{ nick: 'bob' }],
  acceptKeyChange: [{ roomId: '1', nick: 7 }],
  fileLimit: [{}, 1],
  sendFileStart: [
    { roomId: '1', name: '', mime: '', size: 1 },
    { roomId: '1', name: 'a', mime: '', size: -1 },
    { roomId: '1', name: 'a', mime: '', size: 1.5 },
    { roomId: '1', name: 'a'.repeat(256), mime: '', size: 1 },
    { roomId: '1', name: 'a', mime: 'm'.repeat(128), size: 1 },
    { roomId: '1', name: 'a', mime: '', size: 1, path: '/etc/passwd' },
  ],
  sendFilePart: [
    { uploadId: 'nope', data: '' },
    { uploadId: 'ab'.repeat(16), data: 'not base64!' },
    { uploadId: 'ab'.repeat(16), data: 'A'.repeat(700_000) },
  ],
  sendFileCommit: [{ uploadId: 'AB'.repeat(16) }, {}],
  readFile: [
    { roomId: '1', fileId: '../x', offset: 0 },
    { roomId: '1', fileId: 'cd'.repeat(16), offset: -1 },
    { roomId: '1', fileId: 'cd'.repeat(16) },
  ],
  exportDebug: [[], { roomId: '1', secrets: true }, { roomId: 1 }],
  exportAllDebug: [{}, []],
  retryRoom: [null, {}],
  removeRoom: [{ roomId: 5 }],
  setMuted: [{ roomId: '1' }, { roomId: '1', muted: 'yes' }],
  retryMessage: [{ roomId: '1' }, { roomId: '1', id: '' }, { roomId: '1', id: 'a b' }],
  discardMessage: [{ roomId: '1', id: 'x'.repeat(65) }],
  outbox: [{}],
  createInvite: [{ roomId: '1', token: 'x' }],
  takeInvite: [{}],
  getSettings: [{}],
  updateSettings: [
    null,
    { theme: 'neon' },
    { rekeyIntervalHours: 5 },
    { notifications: 'on' },
    { defaultRelayUrl: 'javascript:alert(1)' },
    { extra: 1 },
  ],
  listRelays: [{}],
  saveRelay: [
    { url: 'file:///x' },
    { url: 'http://h', token: '' },
    { url: 'http://h', token: 'has space' },
    { url: 'http://h', token: 'x'.repeat(513) },
  ],
  removeRelay: [{ url: 42 }],
  viewState: [
    { roomId: '1', focused: true },
    { roomId: '1', focused: 'yes', unread: 0 },
    { roomId: null, focused: true, unread: -1 },
  ],
};

describe('IPC dispatch', () => {
  it('has a schema for every API method and nothing else', () => {
    expect(Object.keys(ARG_SCHEMAS).sort()).toEqual([...API_METHODS].sort());
  });

  it('routes every method to its handler with the validated argument', async () => {
    const { handlers, calls } = recordingHandlers();
    const dispatch = createDispatch(handlers, quiet);
    for (const method of API_METHODS) {
      const reply = await dispatch(method, VALID_ARGS[method]);
      expect(reply, method).toEqual({ ok: true, value: `result of ${method}` });
    }
    expect(calls.map((c) => c.method)).toEqual([...API_METHODS]);
    expect(calls.map((c) => c.arg)).toEqual(API_METHODS.map((m) => VALID_ARGS[m]));
  });

  it('accepts optional fields left out', async () => {
    const { handlers } = recordingHandlers();
    const dispatch = createDispatch(handlers, quiet);
    expect(await dispatch('history', { roomId: '1' })).toMatchObject({ ok: true });
    expect(await dispatch('eventLog', { roomId: '1' })).toMatchObject({ ok: true });
  });

  it('refuses bad arguments with BAD_ARGUMENT before any handler runs', async () => {
    const { handlers, calls } = recordingHandlers();
    const dispatch = createDispatch(handlers, quiet);
    for (const method of API_METHODS) {
      for (const bad of BAD_ARGS[method]) {
        const reply = await dispatch(method, bad);
        expect(reply.ok, `${method} ${JSON.stringify(bad)?.slice(0, 60)}`).toBe(false);
        if (!reply.ok) expect(reply.error.code).toBe('BAD_ARGUMENT');
      }
    }
    expect(calls).toEqual([]);
  });

  it('refuses unknown and inherited method names', async () => {
    const { handlers, calls } = recordingHandlers();
    const dispatch = createDispatch(handlers, quiet);
    for (const name of ['nope', '__proto__', 'constructor', 'toString', '', 42, null, {}]) {
      const reply = await dispatch(name, null);
      expect(reply).toEqual({
        ok: false,
        error: { code: 'BAD_ARGUMENT', message: 'unknown method' },
      });
    }
    expect(isApiMethod('hasOwnProperty')).toBe(false);
    expect(calls).toEqual([]);
  });

  it('keeps the code and message of expected failures', async () => {
    const { handlers } = recordingHandlers(() => {
      throw new ApiFailure('NOT_MEMBER', 'you are not a member of the room yet');
    });
    const reply = await createDispatch(handlers, quiet)('sendMessage', VALID_ARGS.sendMessage);
    expect(reply).toEqual({
      ok: false,
      error: { code: 'NOT_MEMBER', message: 'you are not a member of the room yet' },
    });
  });

  it('turns unexpected throws into INTERNAL without leaking the message or stack', async () => {
    const report = vi.fn();
    const secret = new Error('SQLITE_CORRUPT at /home/alice/.config/conclave/profile');
    const { handlers } = recordingHandlers(() => {
      throw secret;
    });
    const reply = await createDispatch(handlers, { onInternalError: report })('listRooms', null);
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe('INTERNAL');
      expect(reply.error.message).not.toContain('SQLITE');
      expect(reply.error.message).not.toContain('/home');
      expect(JSON.stringify(reply)).not.toContain('at ');
    }
    expect(report).toHaveBeenCalledWith('listRooms', secret);
  });

  it('maps non-Error throws and lookalikes with unknown codes to INTERNAL', () => {
    expect(toApiError('boom').code).toBe('INTERNAL');
    expect(toApiError(undefined).code).toBe('INTERNAL');
    const fake = Object.assign(new Error('x'), { name: 'ApiFailure', code: 'ROOT' });
    expect(toApiError(fake).code).toBe('INTERNAL');
  });

  it('waits for handlers that are still starting, and reports a failed start as a reply', async () => {
    const { handlers } = recordingHandlers();
    let release!: () => void;
    const ready = new Promise<void>((r) => (release = r));
    const dispatch = createDispatch(async () => {
      await ready;
      return handlers;
    }, quiet);
    const pending = dispatch('identity', null);
    release();
    expect(await pending).toEqual({ ok: true, value: 'result of identity' });

    const locked = createDispatch(async () => {
      throw new ApiFailure('LOCKED', 'no passphrase or OS key storage to unlock the profile');
    }, quiet);
    expect(await locked('identity', null)).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
  });

  it('never throws, whatever the caller sends', async () => {
    const { handlers } = recordingHandlers();
    const dispatch = createDispatch(handlers, quiet);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...API_METHODS), fc.string(), fc.anything()),
        fc.anything(),
        async (method, arg) => {
          const reply = await dispatch(method, arg);
          expect(typeof reply.ok).toBe('boolean');
          if (!reply.ok) expect(['BAD_ARGUMENT', 'INTERNAL']).toContain(reply.error.code);
        },
      ),
      { numRuns: 500 },
    );
  });
});
