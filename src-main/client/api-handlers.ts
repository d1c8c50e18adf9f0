// The typed API of src-shared/api.ts over the runtime's parts: one function per method, each
// validating what the IPC schemas cannot (nick syntax, sizes, membership) and answering from the
// profile, the open rooms or the store. Expected failures are ApiFailure with the API's codes.
import type {
  ApiArg,
  ApiHandlers,
  ApiMethod,
  ApiResult,
  ChatMessage,
  IdentityInfo,
  RoomNotice,
} from '../../src-shared/api';
import { safetyNumber } from '../protocol/derive';
import type { MessageRecord } from '../store';
import {
  relayUrlProblem,
  roomNameProblem,
  secretProblem,
  tokenProblem,
} from '../../src-shared/invite';
import { ApiFailure } from './errors';
import type { ApiContext } from './api-context';
import type { Profile } from './profile';
import { isStoredNotice } from './room-runner';
import { teamHandlers } from './team-handlers';
import { FILE_PART_BYTES } from '../../src-shared/api';
import { fileView } from './files';

type Handler<M extends ApiMethod> = (ctx: ApiContext, arg: ApiArg<M>) => Promise<ApiResult<M>>;
type HandlerTable = { [M in ApiMethod]: Handler<M> };

const NICK = /^[^\p{Cc}\s][^\p{Cc}]{0,63}$/u;
const MAX_MESSAGE_BYTES = 16 * 1024;

function checkJoinArgs({
  relayUrl,
  room,
  nick,
  token,
  admission,
  inviteSecret,
}: ApiArg<'joinRoom'>): void {
  if (admission !== undefined && !['open', 'knock', 'invite'].includes(admission))
    throw new ApiFailure('BAD_ARGUMENT', 'the admission policy is open, knock or invite');
  const secretError = inviteSecret === undefined ? null : secretProblem(inviteSecret);
  if (secretError) throw new ApiFailure('BAD_ARGUMENT', secretError);
  if (!NICK.test(nick))
    throw new ApiFailure('BAD_ARGUMENT', 'a nickname is 1-64 characters, no control characters');
  const problem =
    relayUrlProblem(relayUrl) ??
    roomNameProblem(room) ??
    (token === undefined ? null : tokenProblem(token));
  if (problem) throw new ApiFailure('BAD_ARGUMENT', problem);
}

const toMessage =
  (nick: string, store: Profile['store']) =>
  (m: MessageRecord): ChatMessage => {
    const file = store.getFileAt(m.roomId, m.epoch, m.seq);
    return {
      seq: m.seq,
      sid: m.sid,
      from: m.senderNick,
      fingerprint: m.senderFingerprint,
      text: m.body,
      at: m.receivedAt,
      transcript: m.transcript,
      own: m.senderNick === nick,
      ...(file ? { file: fileView(file) } : {}),
    };
  };

const clamp = (value: number | undefined, fallback: number, max: number) =>
  Math.min(Math.max(value ?? fallback, 1), max);

const identityHandlers = {
  identity: async ({ profile }) => profile.info(),
  createIdentity: async ({ profile }): Promise<IdentityInfo> => profile.create(),
  defaultRelayUrl: async ({ defaultRelayUrl, settings }) =>
    settings.get().defaultRelayUrl ?? defaultRelayUrl,
} satisfies Partial<HandlerTable>;

const roomHandlers = {
  listRooms: async ({ rooms }) => rooms.list(),
  joinRoom: async ({ profile, rooms, bus }, arg) => {
    profile.requireIdentity();
    checkJoinArgs(arg);
    const { relayUrl, room, nick, token, admission, inviteSecret } = arg;
    const store = profile.store;
    // The relay is remembered (settings list it), with the token when one is given.
    store.saveRelay(relayUrl, token);
    const open = rooms.find(relayUrl, room);
    if (open) {
      if (open.failure) open.retry();
      return rooms.summary(open);
    }
    let record = store.upsertRoom({ relayUrl, name: room, nick });
    if (record.state === 'left') record = store.rejoinRoom(record.id, 'joined again by the user');
    const runner = rooms.start(record, {
      ...(admission ? { admission } : {}),
      ...(inviteSecret
        ? { inviteSeed: new Uint8Array(Buffer.from(inviteSecret, 'base64url')) }
        : {}),
    });
    bus.emit({ type: 'rooms-changed', rooms: rooms.list() });
    return rooms.summary(runner);
  },
  leaveRoom: async ({ rooms, bus }, { roomId }) => {
    const runner = rooms.remove(roomId);
    await runner.leave();
    bus.emit({ type: 'rooms-changed', rooms: rooms.list() });
    return null;
  },
  sendMessage: async ({ rooms }, { roomId, text }) => {
    const runner = rooms.get(roomId);
    if (!runner.engine.isMember)
      throw new ApiFailure('NOT_MEMBER', 'you are not a member of the room yet');
    const bytes = new TextEncoder().encode(text).length;
    if (text.length === 0 || bytes > MAX_MESSAGE_BYTES) {
      throw new ApiFailure(
        'BAD_ARGUMENT',
        `a message is at most 16 KB; this one is ${(bytes / 1024).toFixed(1)} KB`,
      );
    }
    const pending = runner.outbox.add(text);
    runner.sendPending(pending.id, text);
    return runner.outbox.list().find((p) => p.id === pending.id) ?? pending;
  },
  roomState: async ({ rooms }, { roomId }) => rooms.get(roomId).state(),
  history: async ({ profile, rooms }, { roomId, beforeSeq, limit }) => {
    const id = rooms.roomIdOf(roomId);
    const room = profile.store.getRoom(id);
    const before =
      beforeSeq === undefined ? undefined : { epoch: room?.epoch ?? 0, seq: beforeSeq };
    return profile.store
      .getMessages(id, { ...(before ? { before } : {}), limit: clamp(limit, 100, 500) })
      .map(toMessage(room?.nick ?? '', profile.store));
  },
  notices: async ({ profile, rooms }, { roomId }) => {
    // The stored lines (kept across restarts), and this run's protocol notices (blame, held).
    const stored: RoomNotice[] = profile.store
      .getNotices(rooms.roomIdOf(roomId), 500)
      .map((n) => ({ seq: n.seq, kind: n.kind, nick: n.nick, text: n.text, at: n.at }));
    const live = rooms.isOpen(roomId)
      ? rooms.get(roomId).notices.filter((n) => !isStoredNotice(n.kind))
      : [];
    return [...stored, ...live].sort((a, b) => a.at - b.at);
  },
} satisfies Partial<HandlerTable>;

const keyHandlers = {
  knownKeys: async ({ profile, rooms }, { roomId }) =>
    profile.store.getKnownKeys(rooms.roomIdOf(roomId)).map((k) => ({
      nick: k.nick,
      fingerprint: k.fingerprint,
      verified: k.verified,
      pendingFingerprint: k.pending?.fingerprint ?? null,
    })),
  safetyNumber: async ({ profile, rooms }, { roomId, nick }) => {
    const key = profile.store.getKnownKey(rooms.roomIdOf(roomId), nick);
    const identity = profile.identity;
    if (!key || !identity) throw new ApiFailure('BAD_ARGUMENT', `no known key for ${nick}`);
    // With a key change pending, the number is for the new key: the one markVerified trusts.
    return safetyNumber(
      profile.crypto,
      identity.publicKey,
      key.pending?.publicKey ?? key.publicKey,
    );
  },
  markVerified: async ({ profile, rooms }, { roomId, nick }) => {
    const id = rooms.roomIdOf(roomId);
    const key = profile.store.getKnownKey(id, nick);
    if (!key) throw new ApiFailure('BAD_ARGUMENT', `no known key for ${nick}`);
    profile.store.markVerified(id, nick, key.pending?.fingerprint ?? key.fingerprint);
    return null;
  },
  acceptKeyChange: async ({ profile, rooms }, { roomId, nick }) => {
    const id = rooms.roomIdOf(roomId);
    const key = profile.store.getKnownKey(id, nick);
    if (!key?.pending) throw new ApiFailure('BAD_ARGUMENT', `${nick} has no pending key change`);
    profile.store.acceptKeyChange(id, nick, key.pending.fingerprint);
    return null;
  },
} satisfies Partial<HandlerTable>;

// A debug bundle holds no secrets: statuses, members, fingerprints, progress, history and the
// raw event log.
function debugBundle({ profile, rooms }: ApiContext, roomId: string) {
  const runner = rooms.get(roomId);
  return {
    room: { name: runner.room.name, nick: runner.room.nick, relayUrl: runner.room.relayUrl },
    state: runner.state(),
    notices: runner.notices,
    eventLog: profile.store.eventLog(rooms.roomIdOf(roomId), 1000),
  };
}

function debugCommon({ verifyPool }: ApiContext) {
  return {
    exportedAt: new Date().toISOString(),
    // Signature checks done ahead on worker threads: jobs, stolen back, failed, dropped.
    verification: verifyPool?.stats ?? { threads: 0 },
  };
}

const debugHandlers = {
  eventLog: async ({ profile, rooms }, { roomId, limit }) =>
    profile.store
      .eventLog(rooms.roomIdOf(roomId), clamp(limit, 200, 1000))
      .map((e) => ({ seq: e.seq, type: e.type, size: e.size, outcome: e.outcome, at: e.at })),
  exportDebug: async (ctx, { roomId }) =>
    JSON.stringify({ ...debugCommon(ctx), ...debugBundle(ctx, roomId) }, null, 2),
  exportAllDebug: async (ctx) =>
    JSON.stringify(
      { ...debugCommon(ctx), rooms: ctx.rooms.openIds().map((id) => debugBundle(ctx, id)) },
      null,
      2,
    ),
} satisfies Partial<HandlerTable>;

const fileHandlers = {
  fileLimit: async ({ uploads }) => uploads.maxFileBytes,
  sendFileStart: async ({ rooms, uploads }, arg) => {
    if (!rooms.get(arg.roomId).engine.isMember)
      throw new ApiFailure('NOT_MEMBER', 'you are not a member of the room yet');
    if (arg.text !== undefined && new TextEncoder().encode(arg.text).length > MAX_MESSAGE_BYTES)
      throw new ApiFailure('BAD_ARGUMENT', 'a caption is at most 16 KiB');
    return { uploadId: uploads.start(arg) };
  },
  sendFilePart: async ({ uploads }, { uploadId, data }) => ({
    received: uploads.part(uploadId, data),
  }),
  sendFileCommit: async ({ rooms, uploads }, { uploadId }) => ({
    fileId: await uploads.commit(uploadId, (roomId) => rooms.get(roomId)),
  }),
  readFile: async ({ profile, rooms }, { roomId, fileId, offset }) => {
    const id = rooms.roomIdOf(roomId);
    const record = profile.store.getFile(id, fileId);
    // Only files this client received whole: never a part, never one from before it joined.
    if (!record || record.state !== 'complete')
      throw new ApiFailure('BAD_ARGUMENT', 'no complete file with that id in this room');
    const bytes =
      profile.store.getFileRange(id, fileId, offset, FILE_PART_BYTES) ?? new Uint8Array(0);
    return { data: Buffer.from(bytes).toString('base64'), size: record.size, mime: record.mime };
  },
} satisfies Partial<HandlerTable>;

/** Every API method, by name. */
export const API_HANDLERS: HandlerTable = {
  ...identityHandlers,
  ...roomHandlers,
  ...keyHandlers,
  ...debugHandlers,
  ...fileHandlers,
  ...teamHandlers,
};

/** The handlers bound to one runtime's parts, as IPC and the web bridge call them. */
export function bindApiHandlers(ctx: ApiContext): ApiHandlers {
  const bound: Partial<Record<ApiMethod, (arg: never) => Promise<unknown>>> = {};
  for (const method of Object.keys(API_HANDLERS) as ApiMethod[]) {
    const handler = API_HANDLERS[method] as (ctx: ApiContext, arg: never) => Promise<unknown>;
    bound[method] = (arg: never) => handler(ctx, arg);
  }
  return bound as ApiHandlers;
}
