// The Redis Streams RoomLog, for several relay nodes serving the same rooms. Writes go through
// the Lua scripts in redis-scripts.ts (atomic, so seq stays contiguous across nodes); reads for
// delivery come from one XREAD BLOCK loop per node on a dedicated connection, and the server
// delivers only what that loop yields, so every node, the sender's included, delivers in stream
// order. A per-node "wake" stream is part of every XREAD so that a new subscription interrupts
// the blocked read without racing it (CLIENT UNBLOCK could arrive before the block begins).
import { randomBytes } from 'node:crypto';
import { sameSecret } from './secrets';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type {
  AppendResult,
  Attachment,
  EventListener,
  JoinResult,
  ResumeResult,
  RetentionLimits,
  RoomLog,
} from './room-log';
import { SCRIPTS, type ScriptName } from './redis-scripts';
import type { EventType, Nick, Owner, RoomEvent, RoomId, Seq } from './wire';

export interface RedisLogOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly retention: RetentionLimits;
  readonly heartbeatMs: number;
  readonly logger: Logger;
}

interface Subscription {
  readonly room: RoomId;
  readonly key: string;
  lastSeq: Seq;
  readonly listener: EventListener;
}

const READ_BATCH = 1_000;
const EVENT_TYPES = new Set<string>(['joined', 'left', 'message']);

type Reply = (string | number | Reply)[];

function asList(reply: unknown): Reply {
  if (!Array.isArray(reply)) throw new Error(`unexpected script reply ${String(reply)}`);
  return reply as Reply;
}

function names(value: Reply[number] | undefined): Nick[] {
  return Array.isArray(value) ? value.map((n) => String(n) as Nick).sort() : [];
}

export class RedisRoomLog implements RoomLog {
  readonly kind = 'redis';
  private readonly cmd: Redis;
  private readonly reader: Redis;
  private readonly shas = new Map<ScriptName, string>();
  private readonly subs = new Map<string, Subscription>();
  /** This node's attached members, whose leases the heartbeat renews. */
  private readonly attached = new Map<RoomId, Map<Nick, Owner>>();
  private readonly wakeKey: string;
  private wakeId = '0-0';
  private closed = false;
  private loop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  private constructor(private readonly options: RedisLogOptions) {
    // Commands fail (-> UNAVAILABLE to the client) rather than queue forever while Redis is down.
    this.cmd = new Redis(options.url, { maxRetriesPerRequest: 2, lazyConnect: true });
    // The blocking reader must wait through outages instead: it resumes from its cursors.
    this.reader = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: true });
    for (const client of [this.cmd, this.reader]) {
      client.on('error', (err: Error) => options.logger.warn({ err: err.message }, 'redis error'));
    }
    this.wakeKey = `${options.keyPrefix}node:${randomBytes(8).toString('hex')}:wake`;
  }

  static async connect(options: RedisLogOptions): Promise<RedisRoomLog> {
    const log = new RedisRoomLog(options);
    try {
      await Promise.all([log.cmd.connect(), log.reader.connect()]);
      const info = await log.cmd.info('server');
      const version = /redis_version:(\d+)\.(\d+)/.exec(info);
      const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
      if (major < 6 || (major === 6 && minor < 2)) {
        throw new Error(`Redis >= 6.2 required (XADD MINID), found ${major}.${minor}`);
      }
      await log.loadScripts();
      log.wakeId = await log.wake();
      // A node that dies without closing leaves only this small key behind, and not for long.
      await log.cmd.pexpire(log.wakeKey, 24 * 3_600_000);
    } catch (err) {
      log.cmd.disconnect();
      log.reader.disconnect();
      // Name the server but not the URL, which may carry a password.
      const where = URL.canParse(options.url) ? new URL(options.url).host : 'the given URL';
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot use Redis at ${where}: ${reason}`);
    }
    log.loop = log.readLoop();
    log.heartbeat = setInterval(() => void log.beat(), options.heartbeatMs);
    return log;
  }

  private get leaseMs(): number {
    return this.options.heartbeatMs * 3;
  }

  private keys(room: RoomId): string[] {
    // encodeURIComponent keeps braces out of the hash tag and separators out of the key.
    const base = `${this.options.keyPrefix}{${encodeURIComponent(room)}}:`;
    return ['log', 'meta', 'members', 'leases', 'tokens'].map((k) => base + k);
  }

  private async loadScripts(): Promise<void> {
    for (const [name, lua] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
      this.shas.set(name, String(await this.cmd.script('LOAD', lua)));
    }
  }

  private async run(name: ScriptName, room: RoomId, args: (string | number | Buffer)[]) {
    const sha = this.shas.get(name);
    if (sha === undefined) throw new Error(`bug: script ${name} not loaded`);
    try {
      return await this.cmd.evalsha(sha, 5, ...this.keys(room), ...args);
    } catch (err) {
      // Redis restarted or SCRIPT FLUSH ran: load again and retry once.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      await this.loadScripts();
      return this.cmd.evalsha(this.shas.get(name) ?? sha, 5, ...this.keys(room), ...args);
    }
  }

  private trackAttached(at: Attachment, held: boolean): void {
    let room = this.attached.get(at.room);
    if (held) {
      if (!room) this.attached.set(at.room, (room = new Map()));
      room.set(at.nick, at.owner);
    } else if (room?.get(at.nick) === at.owner) {
      room.delete(at.nick);
      if (room.size === 0) this.attached.delete(at.room);
    }
  }

  private event(room: RoomId, seq: number, type: EventType, nick: Nick, at: number): RoomEvent {
    return { room, seq: seq as Seq, type, nick, at };
  }

  async join(at: Attachment, tokenHash: Buffer, maxMembers: number): Promise<JoinResult> {
    const { count, ageMs } = this.options.retention;
    const args = [
      at.nick,
      at.owner,
      tokenHash.toString('hex'),
      maxMembers,
      this.leaseMs,
      count,
      ageMs,
    ];
    const reply = asList(await this.run('JOIN', at.room, args));
    if (reply[0] === 'NICK_TAKEN' || reply[0] === 'ROOM_FULL') return { ok: false, code: reply[0] };
    this.trackAttached(at, true);
    const event = this.event(at.room, Number(reply[1]), 'joined', at.nick, Number(reply[2]));
    return { ok: true, event, members: names(reply[3]) };
  }

  async resume(at: Attachment, tokenHash: Buffer, since: Seq): Promise<ResumeResult> {
    const stored = await this.cmd.hget(this.keys(at.room)[4] ?? '', at.nick);
    if (stored === null) {
      return { ok: false, code: 'GAP_UNAVAILABLE', message: 'session expired: join again' };
    }
    if (!sameSecret(Buffer.from(stored, 'hex'), tokenHash)) {
      return {
        ok: false,
        code: 'NICK_TAKEN',
        message: 'nick is held and the resume token differs',
      };
    }
    const { count, ageMs } = this.options.retention;
    const args = [at.nick, at.owner, stored, since, this.leaseMs, count, ageMs];
    const reply = asList(await this.run('RESUME', at.room, args));
    switch (reply[0]) {
      case 'OK':
        this.trackAttached(at, true);
        return { ok: true, head: Number(reply[1]) as Seq, members: names(reply[2]) };
      case 'AHEAD':
        return { ok: false, code: 'BAD_REQUEST', message: `since ${since} is ahead of the room` };
      case 'GAP':
        return {
          ok: false,
          code: 'GAP_UNAVAILABLE',
          message: `events after ${since} no longer retained`,
        };
      case 'NICK_TAKEN':
        return { ok: false, code: 'NICK_TAKEN', message: 'nick changed hands during resume' };
      default:
        return { ok: false, code: 'GAP_UNAVAILABLE', message: 'session expired: join again' };
    }
  }

  async append(at: Attachment, data: Uint8Array): Promise<AppendResult> {
    const { count, ageMs } = this.options.retention;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const reply = asList(await this.run('APPEND', at.room, [at.nick, at.owner, buf, count, ageMs]));
    if (reply[0] !== 'OK') {
      this.trackAttached(at, false);
      return { ok: false, code: 'NOT_IN_ROOM' };
    }
    const event = this.event(at.room, Number(reply[1]), 'message', at.nick, Number(reply[2]));
    return { ok: true, event: { ...event, data } };
  }

  async leave(at: Attachment): Promise<AppendResult> {
    const { count, ageMs } = this.options.retention;
    const reply = asList(await this.run('RELEASE', at.room, [at.nick, at.owner, count, ageMs]));
    this.trackAttached(at, false);
    if (reply[0] !== 'OK') return { ok: false, code: 'NOT_IN_ROOM' };
    return {
      ok: true,
      event: this.event(at.room, Number(reply[1]), 'left', at.nick, Number(reply[2])),
    };
  }

  async detach(at: Attachment, graceMs: number): Promise<void> {
    this.trackAttached(at, false);
    await this.run('DETACH', at.room, [at.nick, at.owner, graceMs]);
  }

  async expire(at: Attachment): Promise<RoomEvent | null> {
    const result = await this.leave(at);
    return result.ok ? result.event : null;
  }

  async read(room: RoomId, afterSeq: Seq, limit: number): Promise<RoomEvent[]> {
    const key = this.keys(room)[0] ?? '';
    const entries = await this.cmd.xrangeBuffer(key, `(${afterSeq}-0`, '+', 'COUNT', limit);
    return entries.flatMap(([id, fields]) => this.parseEntry(room, id, fields) ?? []);
  }

  subscribe(room: RoomId, afterSeq: Seq, listener: EventListener): () => void {
    const key = this.keys(room)[0] ?? '';
    if (this.subs.has(key)) throw new Error(`bug: second subscription to room ${room}`);
    const sub: Subscription = { room, key, lastSeq: afterSeq, listener };
    this.subs.set(key, sub);
    void this.wake().catch(() => undefined); // the loop's block timeout is the fallback
    return () => {
      if (this.subs.get(key) === sub) this.subs.delete(key);
    };
  }

  private wake(): Promise<string> {
    return this.cmd
      .xadd(this.wakeKey, 'MAXLEN', '~', '16', '*', 'w', '1')
      .then((id) => id ?? '0-0');
  }

  private parseEntry(room: RoomId, id: Buffer, fields: Buffer[]): RoomEvent | undefined {
    const get = (name: string): Buffer | undefined => {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i]?.toString() === name) return fields[i + 1];
      }
      return undefined;
    };
    const type = get('t')?.toString() ?? '';
    const seq = Number.parseInt(id.toString(), 10);
    if (!EVENT_TYPES.has(type) || !Number.isSafeInteger(seq)) {
      this.options.logger.error({ room, id: id.toString() }, 'malformed stream entry skipped');
      return undefined;
    }
    const base = {
      room,
      seq: seq as Seq,
      type: type as EventType,
      nick: (get('n')?.toString() ?? '') as Nick,
      at: Number(get('at')?.toString() ?? 0),
    };
    const data = get('d');
    return data ? { ...base, data } : base;
  }

  private async readLoop(): Promise<void> {
    while (!this.closed) {
      // Snapshot the subscriptions this read is for; results only go to the same objects, so a
      // room re-subscribed from an earlier seq while the read was blocked is not fed a hole.
      const issued = [...this.subs.values()];
      const keys = [this.wakeKey, ...issued.map((s) => s.key)];
      const ids = [this.wakeId, ...issued.map((s) => `${s.lastSeq}-0`)];
      let reply: [Buffer, [Buffer, Buffer[]][]][] | null;
      try {
        reply = await this.reader.xreadBuffer(
          'COUNT',
          READ_BATCH,
          'BLOCK',
          5_000,
          'STREAMS',
          ...keys,
          ...ids,
        );
      } catch (err) {
        if (this.closed) return;
        this.options.logger.warn({ err: String(err) }, 'stream read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      for (const [keyBuf, entries] of reply ?? []) {
        const key = keyBuf.toString();
        if (key === this.wakeKey) {
          this.wakeId = entries.at(-1)?.[0].toString() ?? this.wakeId;
          continue;
        }
        const sub = this.subs.get(key);
        if (!sub || !issued.includes(sub)) continue;
        for (const [id, fields] of entries) {
          const event = this.parseEntry(sub.room, id, fields);
          if (!event || event.seq <= sub.lastSeq) continue;
          sub.lastSeq = event.seq;
          try {
            sub.listener(event);
          } catch (err) {
            this.options.logger.error({ err, room: sub.room }, 'bug: room listener threw');
          }
          if (this.subs.get(key) !== sub) break;
        }
      }
    }
  }

  private async beat(): Promise<void> {
    const rooms = new Set<RoomId>([
      ...this.attached.keys(),
      ...[...this.subs.values()].map((s) => s.room),
    ]);
    const { count, ageMs } = this.options.retention;
    for (const room of rooms) {
      const pairs = [...(this.attached.get(room) ?? [])].flat();
      try {
        await this.run('HEARTBEAT', room, [this.leaseMs, count, ageMs, ...pairs]);
      } catch (err) {
        this.options.logger.warn({ err: String(err), room }, 'lease heartbeat failed');
      }
    }
  }

  healthy(): boolean {
    return this.cmd.status === 'ready' && this.reader.status === 'ready';
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.reader.disconnect();
    await this.loop;
    try {
      await this.cmd.del(this.wakeKey);
      await this.cmd.quit();
    } catch {
      this.cmd.disconnect(); // already gone; nothing left to tidy
    }
  }
}
