// State one relay node shares across its connections: the room feeds, the grace timers of
// dropped members, and the lookups that let a resume take a nick over from a stale connection.
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { WriteBatcher } from './batching';
import { RelayConnection, type ConnectionHost } from './connection';
import { startupFastPath } from './fast-path';
import { RoomFeed, type FeedDeps, type LocalMember } from './feed';
import type { RelayMetrics } from './metrics';
import type { RelayOptions } from './options';
import type { Attachment, RoomLog } from './room-log';
import { sha256 } from './secrets';
import type { RoomId, Seq } from './wire';

export class RelayCore implements ConnectionHost {
  readonly tokenHash: Buffer | undefined;
  private readonly feeds = new Map<RoomId, RoomFeed>();
  private readonly connections = new Map<string, RelayConnection>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** Disconnect bookkeeping still running (reserving nicks in the log). */
  private readonly settling = new Set<Promise<void>>();
  private readonly feedDeps: FeedDeps;
  private readonly batcher: WriteBatcher;
  private closing = false;

  constructor(
    readonly io: Server,
    readonly log: RoomLog,
    readonly options: RelayOptions,
    readonly metrics: RelayMetrics,
    readonly logger: Logger,
  ) {
    this.tokenHash = options.token === undefined ? undefined : sha256(options.token);
    this.batcher = new WriteBatcher(options.flushIntervalMs, startupFastPath(logger));
    this.feedDeps = {
      io,
      log,
      metrics,
      logger,
      batcher: this.batcher,
      onEmpty: (feed) => this.onFeedEmpty(feed),
    };
    io.on('connection', (socket) => this.connect(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get roomCount(): number {
    return this.feeds.size;
  }

  get memberCount(): number {
    let n = 0;
    for (const c of this.connections.values()) n += c.membershipCount;
    return n;
  }

  private connect(socket: Socket): void {
    if (this.closing) {
      socket.disconnect(true);
      return;
    }
    this.batcher.attach(socket, this.options.limits.maxBufferedBytes, () => {
      this.metrics.reject('SLOW_CONSUMER');
      this.logger.warn({ socket: socket.id }, 'client not reading: disconnected');
      socket.disconnect(true);
    });
    this.connections.set(socket.id, new RelayConnection(this, socket));
  }

  forgetConnection(connection: RelayConnection): void {
    this.connections.delete(connection.socket.id);
    const done = connection.settled().finally(() => this.settling.delete(done));
    this.settling.add(done);
  }

  /** Starts delivering the room's events to `member` from its `nextSeq` on. */
  attach(member: LocalMember): void {
    if (member.state !== 'new') return; // dropped or taken over before its reply went out
    let feed = this.feeds.get(member.room);
    if (feed) {
      feed.add(member);
      return;
    }
    feed = new RoomFeed(member.room, (member.nextSeq - 1) as Seq, this.feedDeps);
    this.feeds.set(member.room, feed);
    feed.add(member);
    feed.start();
  }

  detachFromFeed(member: LocalMember): void {
    if (member.state === 'new') member.state = 'removed';
    else this.feeds.get(member.room)?.remove(member);
  }

  private onFeedEmpty(feed: RoomFeed): void {
    if (this.feeds.get(feed.room) === feed) this.feeds.delete(feed.room);
  }

  /** A resume succeeded: any other local attachment of the same nick is stale now. */
  takeOver(member: LocalMember): void {
    this.cancelExpiry(member);
    for (const stale of this.feeds.get(member.room)?.holders(member.nick) ?? []) {
      if (stale === member) continue;
      this.connections.get(stale.socket.id)?.forget(stale);
      this.detachFromFeed(stale);
    }
  }

  /** The member's connection dropped: keep its nick for the grace period, then release it. */
  async dropped(member: LocalMember): Promise<void> {
    this.detachFromFeed(member);
    const at: Attachment = { room: member.room, nick: member.nick, owner: member.owner };
    try {
      await this.log.detach(at, this.options.graceMs);
    } catch (err) {
      // The Redis lease then runs out on its own and another node's sweep releases the nick.
      this.logger.warn({ err, room: at.room, nick: at.nick }, 'could not record the drop');
    }
    if (this.closing) return;
    const key = timerKey(at);
    clearTimeout(this.graceTimers.get(key));
    const timer = setTimeout(() => {
      this.graceTimers.delete(key);
      this.log.expire(at).then(
        (event) => event && this.logger.info({ room: at.room, nick: at.nick }, 'grace expired'),
        (err: unknown) => this.logger.warn({ err, room: at.room }, 'could not expire a member'),
      );
    }, this.options.graceMs);
    this.graceTimers.set(key, timer);
  }

  private cancelExpiry(at: Attachment): void {
    const key = timerKey(at);
    clearTimeout(this.graceTimers.get(key));
    this.graceTimers.delete(key);
  }

  /**
   * Stops taking connections, lets in-flight requests and drop bookkeeping finish (bounded), and
   * leaves dropped nicks reserved: with Redis their leases expire and other nodes release them.
   */
  async close(drainMs = 2_000): Promise<void> {
    this.closing = true;
    this.batcher.flush();
    this.io.disconnectSockets(true);
    const drained = Promise.all([...this.settling]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    for (const t of this.graceTimers.values()) clearTimeout(t);
    this.graceTimers.clear();
  }
}

/** One timer per nick and room: a newer drop or a resume supersedes the older timer. */
function timerKey(at: Attachment): string {
  return `${at.room}\u0000${at.nick}`;
}
