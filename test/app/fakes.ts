// Test doubles for the app shell tests: handlers that record what they were called with.
import type { ApiHandlers, ApiMethod } from '../../src-shared/api';
import { API_METHODS } from '../../src-shared/api';

/** One valid argument per method, as the renderer would send it. */
export const VALID_ARGS: { [M in ApiMethod]: unknown } = {
  identity: null,
  createIdentity: null,
  listRooms: null,
  joinRoom: { relayUrl: 'http://127.0.0.1:7438', room: 'general', nick: 'alice' },
  leaveRoom: { roomId: '1' },
  sendMessage: { roomId: '1', text: 'hello' },
  roomState: { roomId: '1' },
  history: { roomId: '1', beforeSeq: 10, limit: 50 },
  notices: { roomId: '1' },
  eventLog: { roomId: '1', limit: 100 },
  knownKeys: { roomId: '1' },
  safetyNumber: { roomId: '1', nick: 'bob' },
  markVerified: { roomId: '1', nick: 'bob' },
  acceptKeyChange: { roomId: '1', nick: 'bob' },
  exportDebug: { roomId: '1' },
  defaultRelayUrl: null,
  fileLimit: null,
  sendFileStart: { roomId: '1', name: 'photo.png', mime: 'image/png', size: 1000, text: 'look' },
  sendFilePart: { uploadId: 'ab'.repeat(16), data: 'aGVsbG8=' },
  sendFileCommit: { uploadId: 'ab'.repeat(16) },
  readFile: { roomId: '1', fileId: 'cd'.repeat(16), offset: 0 },
  exportAllDebug: null,
  retryRoom: { roomId: '1' },
  removeRoom: { roomId: '1' },
  setMuted: { roomId: '1', muted: true },
  retryMessage: { roomId: '1', id: 'abc_DEF-123' },
  discardMessage: { roomId: '1', id: 'abc' },
  outbox: { roomId: '1' },
  createInvite: { roomId: '1' },
  setAdmission: { roomId: '1', policy: 'invite' },
  answerKnock: { roomId: '1', nick: 'bob', seq: 12, admit: true },
  takeInvite: null,
  getSettings: null,
  updateSettings: { theme: 'dark', rekeyIntervalHours: 24, defaultRelayUrl: null },
  listRelays: null,
  saveRelay: { url: 'https://relay.example', token: 's3cret' },
  removeRelay: { url: 'https://relay.example' },
  viewState: { roomId: '1', focused: true, unread: 3 },
};

export interface RecordingHandlers {
  handlers: ApiHandlers;
  calls: { method: ApiMethod; arg: unknown }[];
}

export function recordingHandlers(
  result: (method: ApiMethod, arg: unknown) => unknown = (m) => `result of ${m}`,
): RecordingHandlers {
  const calls: RecordingHandlers['calls'] = [];
  const handlers = Object.fromEntries(
    API_METHODS.map((method) => [
      method,
      async (arg: unknown) => {
        calls.push({ method, arg });
        return result(method, arg);
      },
    ]),
  ) as unknown as ApiHandlers;
  return { handlers, calls };
}
