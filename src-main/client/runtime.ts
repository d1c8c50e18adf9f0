// The client runtime: identity, rooms, one engine per room over the relay, the store. The same
// runtime runs in the Electron main process, the headless CLI and the browser host; they all
// talk to it through `handlers` (the typed API of src-shared/api.ts) and `subscribe`.
//
// It is four parts, each in its own file, composed here the same way for every host:
//   profile.ts        the store, unlocked, and this user's identity key
//   room-registry.ts  the open rooms (one RoomRunner each)
//   event-bus.ts      client events and raw engine events to the hosts' listeners
//   api-handlers.ts   the API methods over those parts
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AdmissionPolicy,
  ApiArg,
  ApiHandlers,
  ClientEvent,
  InviteOffer,
} from '../../src-shared/api';
import type { CryptoBackendChoice } from '../protocol/crypto';
import { Crypto, cryptoReadyWith, systemRandom } from '../protocol/crypto';
import type { EngineConfig } from '../protocol/engine';
import type { AppEvent } from '../protocol/events';
import { bindApiHandlers } from './api-handlers';
import { FileUploads } from './file-uploads';
import type { FileSettings } from './files';
import { DEFAULT_FILE_SETTINGS } from './files';
import { EventBus } from './event-bus';
import { InviteInbox } from './invite-inbox';
import type { ProfileOptions } from './profile';
import { openProfileStore, Profile } from './profile';
import type { RoomRunner } from './room-runner';
import { RoomRegistry } from './room-registry';
import { DEFAULT_GIVE_UP_MS } from './relay-failure';
import { SettingsService } from './settings';
import type { VerifyPoolStats } from './verify-pool';
import { defaultVerifyThreads, VerifyPool } from './verify-pool';

export interface RuntimeOptions extends ProfileOptions {
  dataDir: string;
  defaultRelayUrl: string;
  relayToken?: string;
  engine?: Partial<EngineConfig>;
  /** The policy of the rooms this client founds (default knock; docs/PROTOCOL.md "Admission policy"). */
  admission?: AdmissionPolicy;
  /**
   * Threads verifying signatures ahead of the engines (default: one per core beyond the first,
   * at most 4; 0 keeps every verification on the calling thread).
   */
  verifyThreads?: number;
  /** Largest file sent or received (default 25 MB), and chunk pacing; see client/files.ts. */
  files?: Partial<FileSettings>;
  /** Which libsodium binding to use (default native, WebAssembly where it cannot load). */
  cryptoBackend?: CryptoBackendChoice;
  /** How long a room tries to reach its relay before it gives up and says so. */
  giveUpAfterMs?: number;
  /** What the user has in view (the desktop shell decides notifications and the badge on it). */
  onViewState?: (view: ApiArg<'viewState'>) => void;
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
  /** A conclave://join link from outside the page (OS handler, --invite), offered to confirm. */
  offerInvite(link: unknown): InviteOffer;
  readonly settings: SettingsService;
}

export async function createClientRuntime(opts: RuntimeOptions): Promise<ClientRuntime> {
  await cryptoReadyWith(opts.cryptoBackend);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const databasePath = join(opts.dataDir, 'conclave.db');
  const store = await openProfileStore(opts, databasePath);
  const profile = new Profile(store, new Crypto(systemRandom));
  const verifyPool = VerifyPool.start({
    threads: opts.verifyThreads ?? defaultVerifyThreads(),
    onError: (error) => console.error(`signature verification thread failed: ${error.message}`),
  });
  const bus = new EventBus();
  const files: FileSettings = { ...DEFAULT_FILE_SETTINGS, ...opts.files };
  const uploads = new FileUploads(files.maxFileBytes);
  const settings = new SettingsService(store, bus);
  const invites = new InviteInbox(bus);
  const rooms = new RoomRegistry({
    profile,
    bus,
    verifyPool,
    files,
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.relayToken ? { relayToken: opts.relayToken } : {}),
    // Rooms this runtime founds are knock rooms unless the host says otherwise
    // (docs/PROTOCOL.md "Admission policy"); joinRoom's `admission` overrides it per room.
    engineDefaults: () => ({
      rekeyIntervalMs: settings.rekeyIntervalMs(),
      admission: opts.admission ?? 'knock',
    }),
    giveUpAfterMs: opts.giveUpAfterMs ?? DEFAULT_GIVE_UP_MS,
  });
  const handlers = bindApiHandlers({
    profile,
    rooms,
    bus,
    verifyPool,
    defaultRelayUrl: opts.defaultRelayUrl,
    uploads,
    settings,
    invites,
    ...(opts.onViewState ? { onViewState: opts.onViewState } : {}),
  });
  rooms.reopenJoined();

  return {
    handlers,
    databasePath,
    settings,
    offerInvite: (link) => invites.offer(link),
    subscribe: (listener) => bus.subscribe(listener),
    subscribeEngine: (listener) => bus.subscribeEngine(listener),
    room: (roomId) => rooms.get(roomId),
    verification: () => verifyPool?.stats ?? null,
    async close() {
      uploads.close();
      rooms.closeAll();
      store.close();
      await verifyPool?.close();
    },
  };
}
