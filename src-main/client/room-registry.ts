// The rooms this client has open: one RoomRunner per joined room, started from the store's
// records, found by the API's room ids, listed as summaries (open rooms live, the others as
// stored).
import type { RoomSummary } from '../../src-shared/api';
import type { EngineConfig } from '../protocol/engine';
import type { RoomId, RoomRecord, Store } from '../store';
import { ApiFailure } from './errors';
import type { EventBus } from './event-bus';
import type { Profile } from './profile';
import { RoomRunner } from './room-runner';
import type { VerifyPool } from './verify-pool';
import type { FileSettings } from './files';

export interface RoomRegistryDeps {
  profile: Profile;
  bus: EventBus;
  verifyPool: VerifyPool | null;
  engine?: Partial<EngineConfig>;
  relayToken?: string;
  files: FileSettings;
  /** Engine settings from the profile's settings (the rekey interval), read at every start. */
  engineDefaults?: () => Partial<EngineConfig>;
  /** How long a room tries to reach its relay before it gives up and says so. */
  giveUpAfterMs?: number;
}

function summaryOf(r: RoomRunner): RoomSummary {
  return {
    id: r.id,
    relayUrl: r.room.relayUrl,
    room: r.room.name,
    nick: r.room.nick,
    connection: r.connection,
    phase: r.phase,
    members: r.engine.current?.members ?? [],
    unread: 0,
    muted: r.room.muted,
    failure: r.failure,
  };
}

/** No relay ever acknowledged a join of this room (the first epoch, nothing read, no token). */
function neverJoined(room: RoomRecord): boolean {
  return room.epoch === 1 && room.cursorSeq === 0 && !room.hasResumeToken;
}

function storedSummary(room: RoomRecord): RoomSummary {
  return {
    id: String(room.id),
    relayUrl: room.relayUrl,
    room: room.name,
    nick: room.nick,
    connection: 'offline',
    phase: 'left',
    members: [],
    unread: 0,
    muted: room.muted,
    failure: null,
  };
}

export class RoomRegistry {
  private readonly runners = new Map<string, RoomRunner>();

  constructor(private readonly deps: RoomRegistryDeps) {}

  private get store(): Store {
    return this.deps.profile.store;
  }

  summary(runner: RoomRunner): RoomSummary {
    return summaryOf(runner);
  }

  list(): RoomSummary[] {
    return this.store.listRooms().map((room) => {
      const r = this.runners.get(String(room.id));
      return r ? summaryOf(r) : storedSummary(room);
    });
  }

  /** The open room, or the API's UNKNOWN_ROOM error. */
  get(roomId: string): RoomRunner {
    const r = this.runners.get(roomId);
    if (!r) throw new ApiFailure('UNKNOWN_ROOM', `no open room ${roomId}`);
    return r;
  }

  isOpen(roomId: string): boolean {
    return this.runners.has(roomId);
  }

  openIds(): string[] {
    return [...this.runners.keys()];
  }

  /** The store's id of a room this profile knows (open or not), or UNKNOWN_ROOM. */
  roomIdOf(roomId: string): RoomId {
    const id = Number(roomId);
    if (!Number.isInteger(id) || !this.store.getRoom(id as RoomId)) {
      throw new ApiFailure('UNKNOWN_ROOM', `no room ${roomId}`);
    }
    return id as RoomId;
  }

  /** The open runner for this relay and room name, if there is one. */
  find(relayUrl: string, name: string): RoomRunner | undefined {
    const existing = this.store.findRoom(relayUrl, name);
    return existing ? this.runners.get(String(existing.id)) : undefined;
  }

  /** `extra`: this room's own engine options (its founding policy, an invite's secret). */
  start(room: RoomRecord, extra: Partial<EngineConfig> = {}): RoomRunner {
    const { profile, bus, engine, relayToken, verifyPool } = this.deps;
    const engineConfig = { ...this.deps.engineDefaults?.(), ...engine, ...extra };
    const runner = new RoomRunner(room, {
      store: profile.store,
      crypto: profile.crypto,
      identity: profile.requireIdentity(),
      emit: bus.emit,
      onEngineEvent: bus.emitEngine,
      engineConfig,
      ...(relayToken ? { relayToken } : {}),
      tokenFor: (url) => profile.store.getRelayToken(url),
      ...(this.deps.giveUpAfterMs !== undefined ? { giveUpAfterMs: this.deps.giveUpAfterMs } : {}),
      onSummaryChanged: () => bus.emit({ type: 'rooms-changed', rooms: this.list() }),
      verifyPool,
      files: this.deps.files,
    });
    this.runners.set(runner.id, runner);
    runner.start();
    return runner;
  }

  /** Forgets the open room and returns its runner (the caller leaves or closes it). */
  remove(roomId: string): RoomRunner {
    const runner = this.get(roomId);
    this.runners.delete(roomId);
    return runner;
  }

  /**
   * Reopens every room the user is in (at start, once there is an identity). A room whose join
   * never reached the relay (a wrong address, a refused token) is not brought back: it is
   * forgotten, so a failed room does not come back to the sidebar after a restart.
   */
  reopenJoined(): void {
    if (!this.deps.profile.identity) return;
    // Whatever was being sent when the app stopped did not get its answer: failed, to retry.
    this.store.failPendingOutbox('Conclave stopped before the relay confirmed it');
    for (const room of this.store.listRooms()) {
      if (room.state !== 'joined') continue;
      if (neverJoined(room)) this.forget(room.id);
      else this.start(room);
    }
  }

  /** Deletes a room that never got in; leaves one that did (its history stays in Recent). */
  forget(roomId: RoomId): void {
    const room = this.store.getRoom(roomId);
    if (!room) return;
    const hasHistory = this.store.getMessages(roomId, { limit: 1 }).length > 0;
    if (neverJoined(room) && !hasHistory) this.store.deleteRoom(roomId);
    else if (room.state === 'joined') this.store.leaveRoom(roomId, 'removed by the user');
  }

  closeAll(): void {
    for (const r of this.runners.values()) r.close();
    this.runners.clear();
  }
}
