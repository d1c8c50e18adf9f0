// The in-memory RoomLog: the embedded default and the single-node standalone relay. Every
// operation runs to completion synchronously inside one turn of the event loop, which is what
// makes it atomic; listeners are called synchronously from the append, so delivery order is
// append order by construction.
import { sameSecret } from './secrets';
import type {
  AppendResult,
  Attachment,
  EventListener,
  JoinResult,
  ResumeResult,
  RetentionLimits,
  RoomLog,
} from './room-log';
import type { EventType, Nick, Owner, RoomEvent, RoomId, Seq } from './wire';

interface Member {
  owner: Owner;
  readonly tokenHash: Buffer;
}

class MemoryRoom {
  /** Retained events live in events[start..]; the slot before `start` is garbage awaiting compaction. */
  private events: RoomEvent[] = [];
  private start = 0;
  head = 0 as Seq;
  readonly members = new Map<Nick, Member>();
  listener: EventListener | undefined;
  /** When the last member left; the room is forgotten `retention.ageMs` later. */
  emptySince: number | undefined;

  constructor(readonly id: RoomId) {}

  get firstRetained(): number {
    const first = this.events[this.start];
    return first ? first.seq : this.head + 1;
  }

  append(type: EventType, nick: Nick, data: Uint8Array | undefined, now: number): RoomEvent {
    const seq = (this.head + 1) as Seq;
    const event: RoomEvent =
      data === undefined
        ? { room: this.id, seq, type, nick, at: now }
        : { room: this.id, seq, type, nick, data, at: now };
    this.head = seq;
    this.events.push(event);
    this.listener?.(event);
    return event;
  }

  trim(limits: RetentionLimits, now: number): void {
    const retained = this.events.length - this.start;
    let drop = Math.max(0, retained - limits.count);
    const cutoff = now - limits.ageMs;
    while (this.start + drop < this.events.length) {
      const e = this.events[this.start + drop];
      if (e === undefined || e.at >= cutoff) break;
      drop++;
    }
    this.start += drop;
    // Compact lazily so trimming one event per append stays O(1) amortised.
    if (this.start > 1024 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start);
      this.start = 0;
    }
  }

  /** Retained events with seq > afterSeq, at most `limit`. */
  after(afterSeq: number, limit: number): RoomEvent[] {
    const from = this.start + Math.max(0, afterSeq + 1 - this.firstRetained);
    return this.events.slice(from, Math.min(this.events.length, from + limit));
  }
}

export interface MemoryLogOptions {
  readonly retention: RetentionLimits;
  /** Injected so tests can age events without waiting. */
  readonly now?: () => number;
  /** How often to trim by age and forget empty rooms. */
  readonly sweepIntervalMs?: number;
}

export class MemoryRoomLog implements RoomLog {
  readonly kind = 'memory';
  private readonly rooms = new Map<RoomId, MemoryRoom>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: MemoryLogOptions) {
    this.now = options.now ?? Date.now;
    const every =
      options.sweepIntervalMs ?? Math.min(30_000, Math.max(1_000, options.retention.ageMs));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** Number of rooms currently retained (including empty ones not yet forgotten). */
  get roomCount(): number {
    return this.rooms.size;
  }

  private room(id: RoomId): MemoryRoom {
    let room = this.rooms.get(id);
    if (!room) {
      room = new MemoryRoom(id);
      this.rooms.set(id, room);
    }
    return room;
  }

  private appendTo(room: MemoryRoom, type: EventType, nick: Nick, data?: Uint8Array): RoomEvent {
    const now = this.now();
    const event = room.append(type, nick, data, now);
    room.trim(this.options.retention, now);
    return event;
  }

  private holds(at: Attachment): MemoryRoom | undefined {
    const room = this.rooms.get(at.room);
    return room?.members.get(at.nick)?.owner === at.owner ? room : undefined;
  }

  private release(room: MemoryRoom, nick: Nick): RoomEvent {
    room.members.delete(nick);
    if (room.members.size === 0) room.emptySince = this.now();
    return this.appendTo(room, 'left', nick);
  }

  async join(at: Attachment, tokenHash: Buffer, maxMembers: number): Promise<JoinResult> {
    const room = this.room(at.room);
    if (room.members.has(at.nick)) return { ok: false, code: 'NICK_TAKEN' };
    if (room.members.size >= maxMembers) return { ok: false, code: 'ROOM_FULL' };
    const members = [...room.members.keys()].sort();
    room.members.set(at.nick, { owner: at.owner, tokenHash });
    room.emptySince = undefined;
    return { ok: true, event: this.appendTo(room, 'joined', at.nick), members };
  }

  async resume(at: Attachment, tokenHash: Buffer, since: Seq): Promise<ResumeResult> {
    const room = this.rooms.get(at.room);
    const member = room?.members.get(at.nick);
    if (!room || !member) {
      return { ok: false, code: 'GAP_UNAVAILABLE', message: 'session expired: join again' };
    }
    if (!sameSecret(member.tokenHash, tokenHash)) {
      return {
        ok: false,
        code: 'NICK_TAKEN',
        message: 'nick is held and the resume token differs',
      };
    }
    if (since > room.head) {
      return { ok: false, code: 'BAD_REQUEST', message: `since ${since} is ahead of the room` };
    }
    if (since + 1 < room.firstRetained) {
      return {
        ok: false,
        code: 'GAP_UNAVAILABLE',
        message: `events after ${since} no longer retained`,
      };
    }
    member.owner = at.owner;
    const members = [...room.members.keys()].filter((n) => n !== at.nick).sort();
    return { ok: true, head: room.head, members };
  }

  async append(at: Attachment, data: Uint8Array): Promise<AppendResult> {
    const room = this.holds(at);
    if (!room) return { ok: false, code: 'NOT_IN_ROOM' };
    return { ok: true, event: this.appendTo(room, 'message', at.nick, data) };
  }

  async leave(at: Attachment): Promise<AppendResult> {
    const room = this.holds(at);
    if (!room) return { ok: false, code: 'NOT_IN_ROOM' };
    return { ok: true, event: this.release(room, at.nick) };
  }

  async detach(): Promise<void> {
    // Nothing to record: this process is the only node, so the server's grace timer is the
    // only thing that can expire the nick, and a resume replaces the owner.
  }

  async expire(at: Attachment): Promise<RoomEvent | null> {
    const room = this.holds(at);
    return room ? this.release(room, at.nick) : null;
  }

  async read(roomId: RoomId, afterSeq: Seq, limit: number): Promise<RoomEvent[]> {
    return this.rooms.get(roomId)?.after(afterSeq, limit) ?? [];
  }

  subscribe(roomId: RoomId, afterSeq: Seq, listener: EventListener): () => void {
    const room = this.room(roomId);
    if (room.listener) throw new Error(`bug: second subscription to room ${roomId}`);
    // Replay synchronously, before any other append can run, so nothing falls between the
    // replay and the live events.
    for (const event of room.after(afterSeq, Number.MAX_SAFE_INTEGER)) listener(event);
    room.listener = listener;
    return () => {
      if (room.listener === listener) room.listener = undefined;
    };
  }

  /** Trims by age and forgets rooms that have been empty for the retention age. */
  sweep(): void {
    const now = this.now();
    for (const [id, room] of this.rooms) {
      room.trim(this.options.retention, now);
      const forgettable =
        room.members.size === 0 &&
        !room.listener &&
        (room.emptySince === undefined || now - room.emptySince >= this.options.retention.ageMs);
      if (forgettable) this.rooms.delete(id);
    }
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.rooms.clear();
  }
}
