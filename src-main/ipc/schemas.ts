// Argument schemas for every API method. The mapped type below makes the compiler check that
// each method of src-shared/api.ts has a schema whose output is exactly that method's argument,
// so adding a method without validating it does not type-check. Bounds here are about shape and
// size only; the runtime applies the semantic rules (nick syntax, message bytes, known rooms).
import * as v from 'valibot';
import type { ApiArg, ApiMethod } from '../../src-shared/api';
import { FILE_PART_BYTES } from '../../src-shared/api';
import { REKEY_CHOICES_HOURS } from '../../src-shared/api';

type ArgSchemas = { [M in ApiMethod]: v.GenericSchema<unknown, ApiArg<M>> };

const MAX_URL = 2048;
const MAX_ROOM = 128;
const MAX_NICK = 64;
/** A message is at most 16 KiB of UTF-8; UTF-16 code units never outnumber UTF-8 bytes. */
const MAX_TEXT_UNITS = 16 * 1024;

const roomId = v.pipe(v.string(), v.minLength(1), v.maxLength(32));
const nick = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_NICK));
const relayUrl = v.pipe(
  v.string(),
  v.maxLength(MAX_URL),
  v.check((s) => {
    try {
      return ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'the relay URL must be an http(s) or ws(s) URL'),
);
const seq = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const limit = v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(1000));

const token = v.pipe(v.string(), v.minLength(1), v.maxLength(512), v.regex(/^[\x21-\x7e]+$/));
const outboxId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/));
const unread = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(1_000_000));

const none = v.null();
const base64Part = v.pipe(
  v.string(),
  v.maxLength(Math.ceil(FILE_PART_BYTES / 3) * 4),
  v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64'),
);
const uploadId = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, 'bad upload id'));
const fileId = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, 'bad file id'));
const inRoom = v.strictObject({ roomId });
const admissionPolicy = v.picklist(['open', 'knock', 'invite'] as const);
const aboutMember = v.strictObject({ roomId, nick });

export const ARG_SCHEMAS: ArgSchemas = {
  identity: none,
  createIdentity: none,
  listRooms: none,
  defaultRelayUrl: none,
  joinRoom: v.strictObject({
    relayUrl,
    room: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_ROOM)),
    nick,
    token: v.optional(token),
    admission: v.optional(admissionPolicy),
    inviteSecret: v.optional(
      v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/, 'bad invite secret')),
    ),
  }),
  setAdmission: v.strictObject({ roomId, policy: admissionPolicy }),
  answerKnock: v.strictObject({ roomId, nick, seq, admit: v.boolean() }),
  leaveRoom: inRoom,
  retryRoom: inRoom,
  removeRoom: inRoom,
  setMuted: v.strictObject({ roomId, muted: v.boolean() }),
  retryMessage: v.strictObject({ roomId, id: outboxId }),
  discardMessage: v.strictObject({ roomId, id: outboxId }),
  outbox: inRoom,
  createInvite: inRoom,
  takeInvite: none,
  getSettings: none,
  updateSettings: v.strictObject({
    theme: v.optional(v.picklist(['system', 'light', 'dark'])),
    notifications: v.optional(v.boolean()),
    notificationText: v.optional(v.boolean()),
    rekeyIntervalHours: v.optional(v.picklist(REKEY_CHOICES_HOURS as number[])),
    defaultRelayUrl: v.optional(v.nullable(relayUrl)),
  }),
  listRelays: none,
  saveRelay: v.strictObject({ url: relayUrl, token: v.optional(v.nullable(token)) }),
  removeRelay: v.strictObject({ url: relayUrl }),
  viewState: v.strictObject({ roomId: v.nullable(roomId), focused: v.boolean(), unread }),
  sendMessage: v.strictObject({
    roomId,
    text: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TEXT_UNITS)),
  }),
  roomState: inRoom,
  history: v.strictObject({ roomId, beforeSeq: v.optional(seq), limit: v.optional(limit) }),
  notices: inRoom,
  eventLog: v.strictObject({ roomId, limit: v.optional(limit) }),
  knownKeys: inRoom,
  safetyNumber: aboutMember,
  markVerified: aboutMember,
  acceptKeyChange: aboutMember,
  exportDebug: inRoom,
  fileLimit: none,
  sendFileStart: v.strictObject({
    roomId,
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
    mime: v.pipe(v.string(), v.maxLength(127)),
    size: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
    text: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT_UNITS))),
  }),
  sendFilePart: v.strictObject({ uploadId, data: base64Part }),
  sendFileCommit: v.strictObject({ uploadId }),
  readFile: v.strictObject({ roomId, fileId, offset: seq }),
  exportAllDebug: none,
};
