// The client runtime: identity, rooms, one engine per room over the relay, the store. The same
// runtime runs in the Electron main process, the headless CLI and the browser host; they all
// talk to it through `handlers` (the typed API of src-shared/api.ts) and `subscribe`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  ApiHandlers,
  ChatMessage,
  ClientEvent,
  IdentityInfo,
  RoomSummary,
} from '../../src-shared/api';
import { Crypto, cryptoReady, systemRandom } from '../protocol/crypto';
import { fingerprint, safetyNumber } from '../protocol/derive';
import type { EngineConfig } from '../protocol/engine';
import type { AppEvent } from '../protocol/events';
import type { SignKeyPair } from '../protocol/types';
import type { Argon2Params, KeyProtector, RoomId, SafeStorageLike, Store } from '../store';
import {
  moveAsideCorrupt,
  openStore,
  passphraseProtector,
  safeStorageProtector,
  StoreCorruptError,
  StoreTooNewError,
  WrongKeyError,
} from '../store';
import { ApiFailure } from './errors';
import { RoomRunner } from './room-runner';
import type { VerifyPoolStats } from './verify-pool';
import { defaultVerifyThreads, VerifyPool } from './verify-pool';

export interface RuntimeOptions {
  dataDir: string;
  passphrase?: string;
  safeStorage?: SafeStorageLike;
  defaultRelayUrl: string;
  relayToken?: string;
  /** Argon2id cost; tests lower it, production keeps the store's defaults. */
  argon2?: Argon2Params;
  /** On a corrupt database: move it aside and start fresh instead of failing. */
  moveAsideCorrupt?: boolean;
  engine?: Partial<EngineConfig>;
  /**
   * Threads verifying signatures ahead of the engines (default: one per core beyond the first,
   * at most 4; 0 keeps every verification on the calling thread).
   */
  verifyThreads?: number;
}

export interface ClientRuntime {
  handlers: ApiHandlers;
  subscribe(listener: (e: ClientEvent) => void): () => void;
  close(): Promise<void>;
  /** Raw engine events of every room (session status changes, progress, logs). */
  subscribeEngine(listener: (roomId: string, e: AppEvent) => void): () => void;
  /** For hosts that drive one room directly (the headless CLI). */
  room(roomId: string): RoomRunner;
  /** The signature verification threads' counters, or null when there are none. */
  verification(): VerifyPoolStats | null;
  readonly databasePath: string;
}

const NICK = /^[^\p{Cc}\s][^\p{Cc}]{0,63}$/u;

async function open(opts: RuntimeOptions, path: string): Promise<Store> {
  let protector: KeyProtector;
  if (opts.safeStorage) protector = safeStorageProtector(opts.safeStorage);
  else if (opts.passphrase !== undefined)
    protector = passphraseProtector(opts.passphrase, opts.argon2);
  else throw new ApiFailure('LOCKED', 'no passphrase or OS key storage to unlock the profile');
  try {
    return await openStore({ path, protector });
  } catch (error) {
    if (error instanceof StoreCorruptError) {
      if (opts.moveAsideCorrupt) {
        moveAsideCorrupt(path);
        return openStore({ path, protector });
      }
      throw new ApiFailure(
        'STORAGE',
        `${error.message}. Your profile database is damaged; start with the option to move it aside ` +
          `(headless: --move-aside-corrupt) to keep a copy and begin with a fresh profile.`,
      );
    }
    if (error instanceof StoreTooNewError) throw new ApiFailure('STORAGE', error.message);
    if (error instanceof WrongKeyError) throw new ApiFailure('LOCKED', error.message);
    throw error;
  }
}

export async function createClientRuntime(opts: RuntimeOptions): Promise<ClientRuntime> {
  await cryptoReady();
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const databasePath = join(opts.dataDir, 'conclave.db');
  const store = await open(opts, databasePath);
  const crypto = new Crypto(systemRandom);
  const verifyPool = VerifyPool.start({
    threads: opts.verifyThreads ?? defaultVerifyThreads(),
    onError: (error) => console.error(`signature verification thread failed: ${error.message}`),
  });
  const listeners = new Set<(e: ClientEvent) => void>();
  const engineListeners = new Set<(roomId: string, e: AppEvent) => void>();
  const emit = (e: ClientEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch (error) {
        console.error('client event listener failed', error);
      }
    }
  };
  const runners = new Map<string, RoomRunner>();
  let identity: SignKeyPair | null = null;

  const loadIdentity = (): SignKeyPair | null => {
    const record = store.getIdentity();
    const secretKey = store.getIdentitySecretKey();
    return record && secretKey ? { publicKey: record.publicKey, secretKey } : null;
  };
  identity = loadIdentity();

  const identityInfo = (): IdentityInfo | null => {
    const record = store.getIdentity();
    return record
      ? { fingerprint: fingerprint(crypto, record.publicKey), createdAt: record.createdAt }
      : null;
  };

  const summary = (r: RoomRunner): RoomSummary => ({
    id: r.id,
    relayUrl: r.room.relayUrl,
    room: r.room.name,
    nick: r.room.nick,
    connection: r.connection,
    phase: r.phase,
    members: r.engine.current?.members ?? [],
    unread: 0,
  });

  const listRooms = (): RoomSummary[] =>
    store.listRooms().map((room) => {
      const r = runners.get(String(room.id));
      return r
        ? summary(r)
        : {
            id: String(room.id),
            relayUrl: room.relayUrl,
            room: room.name,
            nick: room.nick,
            connection: 'offline',
            phase: 'left',
            members: [],
            unread: 0,
          };
    });

  const runnerFor = (roomId: string): RoomRunner => {
    const r = runners.get(roomId);
    if (!r) throw new ApiFailure('UNKNOWN_ROOM', `no open room ${roomId}`);
    return r;
  };

  const roomIdOf = (roomId: string): RoomId => {
    const id = Number(roomId);
    if (!Number.isInteger(id) || !store.getRoom(id as RoomId)) {
      throw new ApiFailure('UNKNOWN_ROOM', `no room ${roomId}`);
    }
    return id as RoomId;
  };

  const startRunner = (room: ReturnType<Store['upsertRoom']>): RoomRunner => {
    if (!identity) throw new ApiFailure('NO_IDENTITY', 'create an identity first');
    const runner = new RoomRunner(room, {
      store,
      crypto,
      identity,
      emit,
      onEngineEvent: (roomId, e) => {
        for (const l of engineListeners) l(roomId, e);
      },
      ...(opts.engine ? { engineConfig: opts.engine } : {}),
      ...(opts.relayToken ? { relayToken: opts.relayToken } : {}),
      verifyPool,
    });
    runners.set(runner.id, runner);
    runner.start();
    return runner;
  };

  const toMessage =
    (nick: string) =>
    (m: ReturnType<Store['getMessages']>[number]): ChatMessage => ({
      seq: m.seq,
      sid: m.sid,
      from: m.senderNick,
      fingerprint: m.senderFingerprint,
      text: m.body,
      at: m.receivedAt,
      transcript: m.transcript,
      own: m.senderNick === nick,
    });

  const handlers: ApiHandlers = {
    identity: async () => identityInfo(),
    createIdentity: async () => {
      if (!identity) {
        const kp = crypto.signKeyPair();
        store.createIdentity(kp.publicKey, kp.secretKey);
        identity = loadIdentity();
      }
      return identityInfo() as IdentityInfo;
    },
    listRooms: async () => listRooms(),
    joinRoom: async ({ relayUrl, room, nick }) => {
      if (!identity) throw new ApiFailure('NO_IDENTITY', 'create an identity first');
      if (!NICK.test(nick))
        throw new ApiFailure(
          'BAD_ARGUMENT',
          'a nickname is 1-64 characters, no control characters',
        );
      if (!/^(https?|wss?):\/\/./.test(relayUrl))
        throw new ApiFailure('BAD_ARGUMENT', 'the relay URL must start with http:// or https://');
      if (room.length < 1 || room.length > 128)
        throw new ApiFailure('BAD_ARGUMENT', 'a room name is 1-128 characters');
      const existing = store.findRoom(relayUrl, room);
      const open = existing ? runners.get(String(existing.id)) : undefined;
      if (open) return summary(open);
      let record = store.upsertRoom({ relayUrl, name: room, nick });
      if (record.state === 'left') record = store.rejoinRoom(record.id, 'joined again by the user');
      const runner = startRunner(record);
      emit({ type: 'rooms-changed', rooms: listRooms() });
      return summary(runner);
    },
    leaveRoom: async ({ roomId }) => {
      const runner = runnerFor(roomId);
      runners.delete(roomId);
      await runner.leave();
      emit({ type: 'rooms-changed', rooms: listRooms() });
      return null;
    },
    sendMessage: async ({ roomId, text }) => {
      const runner = runnerFor(roomId);
      if (!runner.engine.isMember)
        throw new ApiFailure('NOT_MEMBER', 'you are not a member of the room yet');
      if (text.length === 0 || new TextEncoder().encode(text).length > 16 * 1024) {
        throw new ApiFailure('BAD_ARGUMENT', 'a message is 1 byte to 16 KiB');
      }
      runner.send(text);
      return null;
    },
    roomState: async ({ roomId }) => runnerFor(roomId).state(),
    history: async ({ roomId, beforeSeq, limit }) => {
      const id = roomIdOf(roomId);
      const room = store.getRoom(id);
      const page = Math.min(Math.max(limit ?? 100, 1), 500);
      const before =
        beforeSeq === undefined ? undefined : { epoch: room?.epoch ?? 0, seq: beforeSeq };
      return store
        .getMessages(id, { ...(before ? { before } : {}), limit: page })
        .map(toMessage(room?.nick ?? ''));
    },
    notices: async ({ roomId }) => [...runnerFor(roomId).notices],
    eventLog: async ({ roomId, limit }) =>
      store
        .eventLog(roomIdOf(roomId), Math.min(Math.max(limit ?? 200, 1), 1000))
        .map((e) => ({ seq: e.seq, type: e.type, size: e.size, outcome: e.outcome, at: e.at })),
    knownKeys: async ({ roomId }) =>
      store.getKnownKeys(roomIdOf(roomId)).map((k) => ({
        nick: k.nick,
        fingerprint: k.fingerprint,
        verified: k.verified,
        pendingFingerprint: k.pending?.fingerprint ?? null,
      })),
    safetyNumber: async ({ roomId, nick }) => {
      const key = store.getKnownKey(roomIdOf(roomId), nick);
      if (!key || !identity) throw new ApiFailure('BAD_ARGUMENT', `no known key for ${nick}`);
      // With a key change pending, the number is for the new key: the one markVerified trusts.
      return safetyNumber(crypto, identity.publicKey, key.pending?.publicKey ?? key.publicKey);
    },
    markVerified: async ({ roomId, nick }) => {
      const id = roomIdOf(roomId);
      const key = store.getKnownKey(id, nick);
      if (!key) throw new ApiFailure('BAD_ARGUMENT', `no known key for ${nick}`);
      store.markVerified(id, nick, key.pending?.fingerprint ?? key.fingerprint);
      return null;
    },
    acceptKeyChange: async ({ roomId, nick }) => {
      const id = roomIdOf(roomId);
      const key = store.getKnownKey(id, nick);
      if (!key?.pending) throw new ApiFailure('BAD_ARGUMENT', `${nick} has no pending key change`);
      store.acceptKeyChange(id, nick, key.pending.fingerprint);
      return null;
    },
    exportDebug: async ({ roomId }) => {
      const runner = runnerFor(roomId);
      const id = roomIdOf(roomId);
      // No secrets: statuses, members, fingerprints, progress, history and the raw event log.
      return JSON.stringify(
        {
          exportedAt: new Date().toISOString(),
          room: { name: runner.room.name, nick: runner.room.nick, relayUrl: runner.room.relayUrl },
          state: runner.state(),
          notices: runner.notices,
          // Signature checks done ahead on worker threads: jobs, stolen back, failed, dropped.
          verification: verifyPool?.stats ?? { threads: 0 },
          eventLog: store.eventLog(id, 1000),
        },
        null,
        2,
      );
    },
    defaultRelayUrl: async () => opts.defaultRelayUrl,
  };

  // Reopen the rooms the user is in.
  if (identity) {
    for (const room of store.listRooms()) if (room.state === 'joined') startRunner(room);
  }

  return {
    handlers,
    databasePath,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    room: runnerFor,
    verification: () => verifyPool?.stats ?? null,
    subscribeEngine(listener) {
      engineListeners.add(listener);
      return () => engineListeners.delete(listener);
    },
    async close() {
      for (const r of runners.values()) r.close();
      runners.clear();
      store.close();
      await verifyPool?.close();
    },
  };
}
