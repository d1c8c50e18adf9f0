// One client connection: validates and rate-limits its requests, then handles them one at a
// time in arrival order. Serial handling is what lets a client fire `join` then `send` without
// waiting, and keeps a connection's messages in the order it sent them on every backend.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { LocalMember } from './feed';
import type { RelayMetrics } from './metrics';
import type { RelayOptions } from './options';
import { TokenBucket } from './options';
import type { RoomLog } from './room-log';
import { sameSecret, sha256 } from './secrets';
import {
  fail,
  joinSchema,
  leaveSchema,
  parse,
  sendSchema,
  type FailedReply,
  type JoinReply,
  type LeaveReply,
  type Nick,
  type Owner,
  type RoomId,
  type Seq,
  type SendReply,
} from './wire';

/**
 * Requests accepted but not yet handled. The token bucket bounds the rate; this bounds memory
 * when the log is slow (Redis). It is at least the burst, because after an event-loop stall one
 * TCP read can carry a whole burst of requests that are all accepted before any is handled.
 */
const MIN_MAX_PENDING = 256;

type Reply = JoinReply | SendReply | LeaveReply;
interface Handled {
  readonly reply: Reply;
  /** Runs right after the acknowledgement, so the reply reaches the client before events. */
  readonly after?: () => void;
}
type Ack = (reply: Reply) => void;

/**
 * What a connection needs from its relay node: the shared log, limits and telemetry, and the
 * feed and grace bookkeeping. RelayCore (server.ts) provides it; this file never imports it.
 */
export interface ConnectionHost {
  readonly tokenHash: Buffer | undefined;
  readonly options: RelayOptions;
  readonly log: RoomLog;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  /** Starts delivering the room's events to `member` from its `nextSeq` on. */
  attach(member: LocalMember): void;
  detachFromFeed(member: LocalMember): void;
  /** A resume succeeded: any other local attachment of the same nick is stale now. */
  takeOver(member: LocalMember): void;
  /** The member's connection dropped: keep its nick for the grace period, then release it. */
  dropped(member: LocalMember): Promise<void>;
  forgetConnection(connection: RelayConnection): void;
}

export class RelayConnection {
  private readonly memberships = new Map<RoomId, LocalMember>();
  private readonly bucket: TokenBucket;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly maxPending: number;

  constructor(
    private readonly core: ConnectionHost,
    readonly socket: Socket,
  ) {
    const { eventsPerSecond, burst } = core.options.limits;
    this.bucket = new TokenBucket(eventsPerSecond, burst);
    this.maxPending = Math.max(MIN_MAX_PENDING, burst);
    socket.on('join', (...args: unknown[]) => this.request('join', args, (p) => this.join(p)));
    socket.on('send', (...args: unknown[]) => this.request('send', args, (p) => this.send(p)));
    socket.on('leave', (...args: unknown[]) => this.request('leave', args, (p) => this.leave(p)));
    socket.on('disconnect', () => this.onDisconnect());
  }

  get membershipCount(): number {
    return this.memberships.size;
  }

  /** Drops a membership another connection took over by resuming the same nick. */
  forget(member: LocalMember): void {
    if (this.memberships.get(member.room) === member) this.memberships.delete(member.room);
  }

  private request(
    type: 'join' | 'send' | 'leave',
    args: unknown[],
    handle: (payload: unknown) => Promise<Handled>,
  ): void {
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as Ack) : undefined;
    this.core.metrics.requests.inc({ type });
    // Refused synchronously and at O(1) cost, so a flood never queues ahead of anyone.
    if (!this.bucket.take() || this.pending >= this.maxPending) {
      this.finish(ack, { reply: fail('RATE_LIMITED', 'too many requests; slow down') });
      return;
    }
    this.pending++;
    this.queue = this.queue.then(async () => {
      let handled: Handled;
      try {
        handled = await handle(args[0]);
      } catch (err) {
        // The peer did nothing wrong: storage or the network failed. Tell it to retry.
        this.core.logger.error({ err, type }, 'request failed in the room log');
        handled = { reply: fail('UNAVAILABLE', 'relay storage unavailable; retry') };
      }
      this.pending--;
      this.finish(ack, handled);
    });
  }

  private finish(ack: Ack | undefined, handled: Handled): void {
    if (!handled.reply.ok) this.core.metrics.reject(handled.reply.error.code);
    try {
      ack?.(handled.reply);
      handled.after?.();
    } catch (err) {
      // A throw here would reject the queue and silently stall every later request.
      this.core.logger.error({ err }, 'bug: finishing a request threw');
    }
  }

  private async join(payload: unknown): Promise<Handled> {
    const parsed = parse(joinSchema, payload);
    if (!parsed.ok) return { reply: parsed };
    const request = parsed.value;
    const expected = this.core.tokenHash;
    if (expected && (request.token === undefined || !sameSecret(sha256(request.token), expected))) {
      return { reply: fail('UNAUTHORIZED', 'missing or wrong access token') };
    }
    const room = request.room as RoomId;
    const nick = request.nick as Nick;
    if (this.memberships.has(room)) {
      return { reply: fail('BAD_REQUEST', 'this connection already joined the room') };
    }
    if (this.memberships.size >= this.core.options.limits.maxRoomsPerConnection) {
      return { reply: fail('TOO_MANY_ROOMS', 'room limit per connection reached') };
    }
    if ((request.since === undefined) !== (request.resumeToken === undefined)) {
      return {
        reply: fail('BAD_REQUEST', 'since and resumeToken are given together or not at all'),
      };
    }
    const owner = randomBytes(12).toString('base64url') as Owner;
    const at = { room, nick, owner };
    const log = this.core.log;

    if (request.since !== undefined && request.resumeToken !== undefined) {
      const since = request.since as Seq;
      const result = await log.resume(at, sha256(request.resumeToken), since);
      if (!result.ok) return { reply: fail(result.code, result.message) };
      const member = this.adopt(at, (since + 1) as Seq);
      this.core.takeOver(member);
      const reply: JoinReply = {
        ok: true,
        seq: result.head,
        members: result.members,
        resumeToken: request.resumeToken,
        resumed: true,
      };
      return { reply, after: () => this.core.attach(member) };
    }

    const resumeToken = randomBytes(32).toString('base64url');
    const limit = this.core.options.limits.maxMembersPerRoom;
    const result = await log.join(at, sha256(resumeToken), limit);
    if (!result.ok) {
      const message = result.code === 'NICK_TAKEN' ? 'nick is in use in this room' : 'room is full';
      return { reply: fail(result.code, message) };
    }
    const member = this.adopt(at, result.event.seq);
    const reply: JoinReply = {
      ok: true,
      seq: result.event.seq,
      members: result.members,
      resumeToken,
      resumed: false,
    };
    return { reply, after: () => this.core.attach(member) };
  }

  private adopt(at: { room: RoomId; nick: Nick; owner: Owner }, fromSeq: Seq): LocalMember {
    const member: LocalMember = {
      ...at,
      socket: this.socket,
      fromSeq,
      nextSeq: fromSeq,
      state: 'new',
    };
    this.memberships.set(at.room, member);
    return member;
  }

  private async send(payload: unknown): Promise<Handled> {
    const parsed = parse(sendSchema, payload);
    if (!parsed.ok) return { reply: parsed };
    const { room, data } = parsed.value;
    const max = this.core.options.limits.maxPayloadBytes;
    if (data.byteLength > max) {
      return { reply: fail('PAYLOAD_TOO_LARGE', `data exceeds ${max} bytes`) };
    }
    const member = this.memberships.get(room as RoomId);
    if (!member) return { reply: notInRoom() };
    const result = await this.core.log.append(member, data);
    if (!result.ok) {
      this.lost(member);
      return { reply: notInRoom() };
    }
    this.core.metrics.bytesIn.inc(data.byteLength);
    return { reply: { ok: true, seq: result.event.seq } };
  }

  private async leave(payload: unknown): Promise<Handled> {
    const parsed = parse(leaveSchema, payload);
    if (!parsed.ok) return { reply: parsed };
    const member = this.memberships.get(parsed.value.room as RoomId);
    if (!member) return { reply: notInRoom() };
    // If this throws the membership stays, so the client can retry or the drop releases it.
    const result = await this.core.log.leave(member);
    this.memberships.delete(member.room);
    // A live member stays subscribed until its own `left` goes by (the feed retires it then);
    // one still catching up stops now, so it cannot trail stale events after the reply.
    if (!result.ok || member.state !== 'live') this.core.detachFromFeed(member);
    if (!result.ok) return { reply: notInRoom() };
    return { reply: { ok: true, seq: result.event.seq } };
  }

  /** The log says another connection holds this nick now: stop serving it here. */
  private lost(member: LocalMember): void {
    this.forget(member);
    this.core.detachFromFeed(member);
  }

  private onDisconnect(): void {
    // Stop writing to the dead socket at once; reserve the nicks after pending requests ran,
    // so a join still in flight is reserved too.
    for (const member of this.memberships.values()) this.core.detachFromFeed(member);
    this.queue = this.queue.then(async () => {
      const dropped = [...this.memberships.values()];
      this.memberships.clear();
      await Promise.all(dropped.map((member) => this.core.dropped(member)));
    });
    this.core.forgetConnection(this);
  }

  /** Resolves once every accepted request and the disconnect bookkeeping have run. */
  settled(): Promise<void> {
    return this.queue;
  }
}

function notInRoom(): FailedReply {
  return fail('NOT_IN_ROOM', 'not a member of this room on this connection');
}
