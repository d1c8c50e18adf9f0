// One RoomFeed per room per node: it follows the room's log and hands every event, in log order,
// to the members connected to this node. It never delivers anything the log did not yield, so a
// sender sees its own message exactly where everyone else does ("never local-first").
//
// A member is in one of three delivery states:
//   live         in `live`; gets each event by one shared broadcast: the event is encoded once
//                into its WebSocket frames and the same bytes are written to every live
//                member's connection (batching.ts), which is where throughput comes from; a
//                member whose connection still has Socket.IO packets queued (an ack) gets that
//                event through Socket.IO instead, behind them, so its stream stays in order
//   waiting      its first event has not reached this feed yet (the log told us its seq before
//                the subscription caught up); it goes live right before that event is broadcast
//   catching-up  its first event is already behind the feed (a resume, or the feed was quicker
//                than the join reply); it is served individually from `read` until it reaches
//                the feed's position and then goes live in the same synchronous step, so
//                nothing is lost or repeated at the switch
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { RelayMetrics } from './metrics';
import type { WriteBatcher } from './batching';
import { encodeEventFrames } from './fast-path';
import type { RoomLog } from './room-log';
import type { Nick, Owner, RoomEvent, RoomId, Seq } from './wire';

const CATCH_UP_BATCH = 512;

export interface LocalMember {
  readonly socket: Socket;
  readonly room: RoomId;
  readonly nick: Nick;
  readonly owner: Owner;
  /** The first seq this member receives: its own `joined`, or `since + 1` on resume. */
  readonly fromSeq: Seq;
  /** Next seq owed to this member (meaningful while waiting or catching up). */
  nextSeq: Seq;
  state: 'new' | 'waiting' | 'catching-up' | 'live' | 'removed';
}

export interface FeedDeps {
  readonly io: Server;
  readonly log: RoomLog;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  /** Writes a broadcast's frames to each member's connection. */
  readonly batcher: WriteBatcher;
  /** Called once the last member is gone and the feed has unsubscribed. */
  readonly onEmpty: (feed: RoomFeed) => void;
}

export class RoomFeed {
  private lastSeq: Seq;
  private readonly members = new Set<LocalMember>();
  private readonly waiting = new Map<number, LocalMember[]>();
  private readonly live = new Set<LocalMember>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly room: RoomId,
    afterSeq: Seq,
    private readonly deps: FeedDeps,
  ) {
    this.lastSeq = afterSeq;
  }

  get size(): number {
    return this.members.size;
  }

  /** Subscribes to the log; call after adding the first member so a synchronous replay reaches it. */
  start(): void {
    this.unsubscribe = this.deps.log.subscribe(this.room, this.lastSeq, (e) => this.onEvent(e));
  }

  add(member: LocalMember): void {
    this.members.add(member);
    if (member.nextSeq === this.lastSeq + 1) this.goLive(member);
    else if (member.nextSeq > this.lastSeq + 1) {
      member.state = 'waiting';
      const list = this.waiting.get(member.nextSeq);
      if (list) list.push(member);
      else this.waiting.set(member.nextSeq, [member]);
    } else {
      member.state = 'catching-up';
      void this.catchUp(member);
    }
  }

  remove(member: LocalMember): void {
    if (!this.members.delete(member)) return;
    if (member.state === 'live') {
      this.live.delete(member);
    } else if (member.state === 'waiting') {
      const list = this.waiting.get(member.nextSeq)?.filter((m) => m !== member) ?? [];
      if (list.length) this.waiting.set(member.nextSeq, list);
      else this.waiting.delete(member.nextSeq);
    }
    member.state = 'removed';
    if (this.members.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.deps.onEmpty(this);
    }
  }

  /** The local members holding `nick` (normally one; two while a stale attachment lingers). */
  holders(nick: Nick): LocalMember[] {
    return [...this.members].filter((m) => m.nick === nick);
  }

  private goLive(member: LocalMember): void {
    member.state = 'live';
    this.live.add(member);
  }

  private onEvent(event: RoomEvent): void {
    // The log calls this from inside an append; a bug here must not fail the sender's request
    // after its event is already in the log.
    try {
      this.deliver(event);
    } catch (err) {
      this.deps.logger.error({ err, room: this.room, seq: event.seq }, 'bug: delivery threw');
    }
  }

  private deliver(event: RoomEvent): void {
    if (event.seq <= this.lastSeq) return; // a re-read after a backend hiccup; already delivered
    if (event.seq !== this.lastSeq + 1) {
      this.onGap(event);
      return;
    }
    this.lastSeq = event.seq;
    const due = this.waiting.get(event.seq);
    if (due) {
      this.waiting.delete(event.seq);
      for (const member of due) this.goLive(member);
    }
    if (this.live.size > 0) {
      const frames = encodeEventFrames(this.deps.io.encoder, 'event', event);
      let receivers = 0;
      // A write can disconnect a slow member, which removes it from `live` (safe mid-iteration).
      for (const member of this.live) {
        if (!this.deps.batcher.writeFrames(member.socket, frames)) {
          member.socket.emit('event', event);
        }
        receivers++;
      }
      this.count(event, receivers);
    }
    if (event.type === 'left') {
      // A member's own `left` is the last thing it receives in this room.
      for (const member of this.holders(event.nick)) {
        if (member.state === 'live' && member.fromSeq <= event.seq) this.remove(member);
      }
    }
  }

  private async catchUp(member: LocalMember): Promise<void> {
    while (member.state === 'catching-up') {
      if (member.nextSeq > this.lastSeq) {
        // Reached the feed's position: join the broadcast in the same synchronous step.
        this.goLive(member);
        return;
      }
      let events: RoomEvent[];
      try {
        events = await this.deps.log.read(this.room, (member.nextSeq - 1) as Seq, CATCH_UP_BATCH);
      } catch (err) {
        this.deps.logger.warn({ err, room: this.room }, 'catch-up read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (member.state !== 'catching-up') return;
      for (const event of events) {
        // Stop at the feed's position: beyond it the member waits for the broadcast.
        if (event.seq > this.lastSeq) break;
        if (event.seq !== member.nextSeq) {
          this.dropForGap(member, member.nextSeq);
          return;
        }
        member.socket.emit('event', event);
        this.count(event, 1);
        member.nextSeq = (member.nextSeq + 1) as Seq;
        if (event.type === 'left' && event.nick === member.nick) {
          this.remove(member);
          return;
        }
      }
      if (events.length === 0 && member.nextSeq <= this.lastSeq) {
        this.dropForGap(member, member.nextSeq);
        return;
      }
    }
  }

  private count(event: RoomEvent, receivers: number): void {
    this.deps.metrics.deliveries.inc(receivers);
    if (event.data) this.deps.metrics.bytesOut.inc(event.data.byteLength * receivers);
  }

  /**
   * The log no longer holds events this feed (or member) still owes. Delivering past a hole
   * would break the protocol's promise, so the affected connections are closed: their clients
   * reconnect, ask to resume, and learn GAP_UNAVAILABLE, which tells them to rejoin.
   */
  private onGap(event: RoomEvent): void {
    this.deps.logger.error(
      { room: this.room, expected: this.lastSeq + 1, got: event.seq },
      'room log skipped events; disconnecting local members',
    );
    this.lastSeq = event.seq;
    for (const member of [...this.members]) member.socket.disconnect(true);
  }

  private dropForGap(member: LocalMember, missing: number): void {
    this.deps.logger.error(
      { room: this.room, nick: member.nick, missing },
      'events owed to a member are no longer retained; disconnecting it',
    );
    member.socket.disconnect(true);
  }
}
