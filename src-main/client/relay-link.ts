// One room on one relay over Socket.IO (docs/RELAY.md): joins, resumes after a drop with the
// resume token and the last processed seq, and hands events to its owner strictly in seq order.
// A gap is never skipped: the link reconnects and resumes from the last seq it delivered.
import type { Socket } from 'socket.io-client';
import { io } from 'socket.io-client';
import type { ConnectionState, RoomFailure } from '../../src-shared/api';
import type { RoomEvent } from '../relay/wire';
import { authFailure, connectErrorText, tlsFailure, unreachableFailure } from './relay-failure';
import type { VerifyTicket } from './verify-pool';

export interface RelayEvent {
  seq: number;
  type: 'joined' | 'left' | 'message';
  nick: string;
  data?: Uint8Array;
  at: number;
}

export interface JoinedInfo {
  seq: number;
  members: string[];
  resumeToken: string;
  resumed: boolean;
}

export interface RelayLinkHandlers {
  /** Called in seq order, one at a time; the link waits for the returned promise. */
  onEvent(event: RelayEvent): Promise<void> | void;
  /**
   * Called as an event arrives, before the ones ahead of it are processed: the owner may start
   * verifying its signature on another thread (verify-pool.ts). Before `onEvent` gets it, the
   * link takes the job back if no worker has it yet, or waits for the worker's answer.
   */
  prepare?(event: RelayEvent): VerifyTicket | null;
  onJoined(info: JoinedInfo): Promise<void> | void;
  onState(state: ConnectionState, detail: string): void;
  /** The relay cannot resume us (gap no longer retained, or our membership expired). */
  onLost(reason: 'gap-unavailable' | 'expired' | 'nick-taken' | 'refused', detail: string): void;
  /**
   * The link gave up: the relay cannot be reached in time, its certificate was refused, or it
   * refused the access token. The link is closed; the owner offers Retry (a new link).
   */
  onFailure?(failure: RoomFailure): void;
}

export interface RelayLinkOptions {
  url: string;
  room: string;
  nick: string;
  token?: string;
  /** Resume from here: the last seq fully processed, and the token the relay gave us. */
  resume?: { since: number; resumeToken: string };
  /** Give up when no join succeeded this long after start (0: keep trying forever). */
  giveUpAfterMs?: number;
}

/** An `event` as the relay emits it (docs/RELAY.md). */
type WireEvent = RoomEvent;

/** The relay's reply to `join` (docs/RELAY.md). */
export type JoinAck =
  | { ok: true; seq: number; members: string[]; resumeToken: string; resumed?: boolean }
  | { ok: false; error: { code: string; message: string } };

/**
 * A Socket.IO connection to a relay, WebSocket only. `reconnecting` is how the app connects (it
 * comes back after drops and resumes); the benchmarks connect `once` and treat a drop as a failure.
 */
export function openRelaySocket(url: string, mode: 'reconnecting' | 'once'): Socket {
  return mode === 'once'
    ? io(url, { transports: ['websocket'], reconnection: false, forceNew: true })
    : io(url, {
        transports: ['websocket'],
        reconnection: true,
        reconnectionDelay: 250,
        reconnectionDelayMax: 4_000,
        randomizationFactor: 0.3,
        timeout: 5_000,
      });
}

/** A relay `event` as the client hands it on (binary data as a Uint8Array). */
export function relayEventOf(wire: WireEvent): RelayEvent {
  // Assigned, not spread: this runs for every delivery (about 0.5 µs less each).
  const event: RelayEvent = { seq: wire.seq, type: wire.type, nick: wire.nick, at: wire.at };
  if (wire.data !== undefined) event.data = new Uint8Array(wire.data);
  return event;
}

/** Longest stretch of event processing before the link yields to the event loop. */
const DRAIN_SLICE_MS = 5;

export class RelayLink {
  private socket: Socket | null = null;
  private lastSeq = 0;
  private resumeToken: string | null = null;
  private joined = false;
  private queue: { event: RelayEvent; ticket: VerifyTicket | null }[] = [];
  private drainScheduled = false;
  private draining = false;
  private closed = false;
  private expectFreshJoin = true;
  private everJoined = false;
  private lastError = '';
  private giveUpTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: RelayLinkOptions,
    private readonly handlers: RelayLinkHandlers,
  ) {
    if (opts.resume) {
      this.lastSeq = opts.resume.since;
      this.resumeToken = opts.resume.resumeToken;
      this.expectFreshJoin = false;
    }
  }

  start(): void {
    this.handlers.onState('connecting', `connecting to ${this.opts.url}`);
    const socket = openRelaySocket(this.opts.url, 'reconnecting');
    this.socket = socket;
    const giveUpAfter = this.opts.giveUpAfterMs ?? 0;
    if (giveUpAfter > 0) {
      this.giveUpTimer = setTimeout(() => {
        this.giveUpTimer = null;
        if (!this.everJoined) {
          this.fail(unreachableFailure(this.opts.url, this.lastError || 'no answer', giveUpAfter));
        }
      }, giveUpAfter);
      this.giveUpTimer.unref();
    }
    socket.on('connect', () => this.join());
    socket.on('disconnect', (reason) => {
      this.joined = false;
      if (this.closed) return;
      this.handlers.onState('reconnecting', `connection lost (${reason})`);
      // Socket.IO does not reconnect by itself after the server closed the connection (a relay
      // shutting down or restarting): we do, after a short pause.
      if (reason === 'io server disconnect') {
        setTimeout(() => {
          if (!this.closed && !socket.connected) socket.connect();
        }, 500).unref();
      }
    });
    socket.on('connect_error', (error) => {
      if (this.closed) return;
      const tls = tlsFailure(this.opts.url, error);
      if (tls) {
        this.fail(tls);
        return;
      }
      this.lastError = connectErrorText(error);
      this.handlers.onState('reconnecting', `cannot reach the relay: ${this.lastError}`);
    });
    socket.on('event', (wire: WireEvent) => {
      if (wire.room !== this.opts.room) return;
      const event = relayEventOf(wire);
      const ticket =
        this.joined && event.seq > this.lastSeq ? (this.handlers.prepare?.(event) ?? null) : null;
      this.queue.push({ event, ticket });
      this.scheduleDrain();
    });
  }

  private join(): void {
    const socket = this.socket;
    if (!socket || this.closed) return;
    const request: Record<string, unknown> = { room: this.opts.room, nick: this.opts.nick };
    if (this.opts.token) request['token'] = this.opts.token;
    if (this.resumeToken && this.lastSeq > 0) {
      request['since'] = this.lastSeq;
      request['resumeToken'] = this.resumeToken;
    }
    this.queue = [];
    socket.timeout(10_000).emit('join', request, (err: Error | null, ack: JoinAck) => {
      if (this.closed) return;
      if (err) {
        this.handlers.onState('reconnecting', 'the relay did not answer; retrying');
        socket.disconnect().connect();
        return;
      }
      if (!ack.ok) {
        const code = ack.error.code;
        if (code === 'GAP_UNAVAILABLE') this.handlers.onLost('gap-unavailable', ack.error.message);
        else if (code === 'NICK_TAKEN') this.handlers.onLost('nick-taken', ack.error.message);
        else if (code === 'UNAUTHORIZED') this.fail(authFailure(this.opts.url, !!this.opts.token));
        else if (code === 'RATE_LIMITED' || code === 'UNAVAILABLE') {
          setTimeout(() => this.join(), 1_000);
        } else this.handlers.onLost('refused', `${code}: ${ack.error.message}`);
        return;
      }
      const resumed = ack.resumed === true;
      if (!resumed && !this.expectFreshJoin) {
        // Our membership ended while we were away (grace period over): the room saw us leave.
        this.handlers.onLost('expired', 'the relay no longer held our place in the room');
        return;
      }
      this.expectFreshJoin = false;
      this.resumeToken = ack.resumeToken;
      this.joined = true;
      this.everJoined = true;
      void Promise.resolve(
        this.handlers.onJoined({
          seq: ack.seq,
          members: ack.members,
          resumeToken: ack.resumeToken,
          resumed,
        }),
      ).then(() => {
        this.handlers.onState('connected', resumed ? 'resumed' : 'joined');
        this.scheduleDrain();
      });
    });
  }

  /**
   * Events are processed from the next turn of the event loop, so that a burst read from the
   * socket is queued (and its signatures handed to workers) before the first is processed.
   */
  private scheduleDrain(): void {
    if (this.drainScheduled || this.draining) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining || !this.joined) return;
    this.draining = true;
    let sliceEnd = performance.now() + DRAIN_SLICE_MS;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const { event, ticket } = this.queue[0] as (typeof this.queue)[number];
        if (ticket?.state === 'sent') {
          await new Promise<void>((resolve) => ticket.whenSettled(resolve));
          sliceEnd = performance.now() + DRAIN_SLICE_MS;
          continue; // the queue may have been reset meanwhile
        }
        ticket?.steal(); // no worker has it: the engine verifies it inline
        this.queue.shift();
        if (event.seq <= this.lastSeq) continue; // already delivered (replayed on resume)
        if (event.seq !== this.lastSeq + 1 && this.lastSeq > 0) {
          // A gap: never process past it. Reconnect and resume from what we have.
          this.queue = [];
          this.joined = false;
          this.handlers.onState('reconnecting', `gap after seq ${this.lastSeq}; resuming`);
          this.socket?.disconnect().connect();
          return;
        }
        await this.handlers.onEvent(event);
        this.lastSeq = event.seq;
        if (performance.now() >= sliceEnd) {
          // Let socket reads and workers' answers in before going on with a long backlog.
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceEnd = performance.now() + DRAIN_SLICE_MS;
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Joined and connected: a send now goes straight to the relay. */
  get ready(): boolean {
    return this.joined && !!this.socket?.connected;
  }

  /** Send bytes to the room; resolves with the relay's seq, or rejects with its error. */
  send(data: Uint8Array): Promise<number> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      socket
        .timeout(15_000)
        .emit(
          'send',
          { room: this.opts.room, data },
          (
            err: Error | null,
            ack:
              { ok: true; seq: number } | { ok: false; error: { code: string; message: string } },
          ) => {
            if (err) reject(err);
            else if (ack.ok) resolve(ack.seq);
            else reject(new Error(`${ack.error.code}: ${ack.error.message}`));
          },
        );
    });
  }

  get token(): string | null {
    return this.resumeToken;
  }

  /** Leave the room on the relay (a `left` for everyone) and close. */
  async leave(): Promise<void> {
    const socket = this.socket;
    if (socket?.connected) {
      await new Promise<void>((resolve) => {
        socket.timeout(3_000).emit('leave', { room: this.opts.room }, () => resolve());
      });
    }
    this.close();
  }

  private fail(failure: RoomFailure): void {
    if (this.closed) return;
    this.close();
    this.handlers.onFailure?.(failure);
  }

  close(): void {
    this.closed = true;
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
    this.giveUpTimer = null;
    this.queue = [];
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    this.handlers.onState('offline', 'closed');
  }
}
