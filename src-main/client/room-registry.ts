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
  };
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

  start(room: RoomRecord): RoomRunner {
    const { profile, bus, engine, relayToken, verifyPool } = this.deps;
    const runner = new RoomRunner(room, {
      store: profile.store,
      crypto: profile.crypto,
      identity: profile.requireIdentity(),
      emit: bus.emit,
      onEngineEvent: bus.emitEngine,
      ...(engine ? { engineConfig: engine } : {}),
      ...(relayToken ? { relayToken } : {}),
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

  /** Reopens every room the user is in (at start, once there is an identity). */
  reopenJoined(): void {
    if (!this.deps.profile.identity) return;
    for (const room of this.store.listRooms()) if (room.state === 'joined') this.start(room);
  }

  closeAll(): void {
    for (const r of this.runners.values()) r.close();
    this.runners.clear();
  }
}
