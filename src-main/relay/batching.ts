// Write batching for client connections. Engine.IO's WebSocket transport writes every frame with
// its own syscall, and a binary `event` is two frames, so under load the relay spent over half
// its CPU in writev. Instead each TCP socket is corked on its first write and uncorked when the
// batcher flushes, so everything the relay sends to one client in between (typically several
// events) leaves in a single writev.
//
// When to flush is a small Nagle-like rule with a bound on the added latency:
//   - if the previous flush was at least `intervalMs` ago, flush at the end of this event-loop
//     turn (setImmediate): an idle relay adds no delay;
//   - otherwise flush `intervalMs` after the previous flush: under a stream of events (a room of
//     100 answering one join request, a busy chat) each client gets one write per interval with
//     everything that arrived meanwhile, instead of one write per event. The relay's syscalls,
//     and its clients' reads, then grow with time rather than with traffic.
// `intervalMs = 0` flushes at the end of every turn.
//
// Broadcasts skip Socket.IO's per-client path (`writeFrames`): Socket.IO pre-encodes only
// text-only packets, so for a binary `event` every receiver cost an Engine.IO packet, two ws
// frames built from scratch (the JSON text re-encoded to UTF-8 each time) and two write
// callbacks. The feed now encodes an event's frames once (`encodeEventFrames`, the same bytes
// Socket.IO would send) and each live member's TCP socket gets that buffer in one write. At
// 50,000 deliveries/s this cut the relay's CPU per delivery by about a third; what is left is
// mostly the kernel's loopback TCP send.
//
// The direct writes depend on engine.io and ws internals; fast-path.ts holds the encoder and the
// version check that turns them off (every event then goes through Socket.IO, still batched).
import type { Socket as TcpSocket } from 'node:net';
import type { Socket } from 'socket.io';
import { fastPathSupport } from './fast-path';

export { encodeEventFrames } from './fast-path';

/** The parts of ws's WebSocket (engine.io's transport.socket) a direct write looks at. */
interface WsSocket {
  readonly readyState: number;
  readonly extensions: string;
}
const WS_OPEN = 1;

/** What a direct write needs to know about one client (see `writeFrames`). */
interface DirectWrite {
  readonly transport: Socket['conn']['transport'];
  readonly ws: WsSocket;
  readonly tcp: TcpSocket;
  readonly checkSlow: () => void;
}

export class WriteBatcher {
  private readonly corked = new Set<TcpSocket>();
  private scheduled: { cancel: () => void } | undefined;
  private lastFlush = -Infinity;
  private readonly direct = new WeakMap<Socket, DirectWrite>();

  /** `directWrites` false: `writeFrames` always declines (see fast-path.ts). */
  constructor(
    private readonly intervalMs: number,
    private readonly directWrites: boolean = fastPathSupport().enabled,
  ) {}

  /**
   * Also the relay's backpressure: when more than `maxBuffered` bytes wait in a client's TCP
   * socket (it stopped reading, or reads far slower than its rooms talk), `onSlow` runs once; the
   * caller disconnects it, and the client may resume from its last seq while its nick is reserved.
   */
  attach(socket: Socket, maxBuffered: number, onSlow: () => void): void {
    const transport = socket.conn.transport;
    // For a WebSocket connection this is the TCP socket the upgrade request arrived on, which ws
    // keeps writing to.
    const tcp = socket.request.socket;
    const send = transport.send.bind(transport);
    let slow = false;
    const checkSlow = () => {
      if (tcp.writableLength > maxBuffered && !slow) {
        slow = true;
        onSlow();
      }
    };
    transport.send = (packets) => {
      this.cork(tcp);
      send(packets);
      checkSlow();
    };
    const ws = (transport as { socket?: Partial<WsSocket> }).socket;
    // Frames can skip Engine.IO only on a WebSocket without extensions (no permessage-deflate),
    // where ws writes every frame to the TCP socket synchronously, in call order.
    if (
      this.directWrites &&
      transport.name === 'websocket' &&
      ws?.extensions === '' &&
      ws.readyState === WS_OPEN
    ) {
      this.direct.set(socket, { transport, ws: ws as WsSocket, tcp, checkSlow });
    }
  }

  /**
   * Writes `frames` (complete WebSocket frames, as `encodeEventFrames` makes them) straight to
   * the client's TCP socket, batched like every other write. Returns false, having written
   * nothing, when that could reorder the client's stream: Engine.IO still holds packets for it
   * (an ack waiting for the previous write to finish), the connection is closing, or it is not a
   * plain WebSocket. The caller then sends through Socket.IO, which queues behind those packets.
   */
  writeFrames(socket: Socket, frames: Buffer): boolean {
    const direct = this.direct.get(socket);
    if (!direct) return false;
    const conn = socket.conn;
    // Engine.IO's queue of packets not yet handed to the transport (private in its typings).
    const queued = (conn as unknown as { writeBuffer?: unknown[] }).writeBuffer;
    if (
      conn.readyState !== 'open' ||
      conn.transport !== direct.transport ||
      queued?.length !== 0 ||
      direct.ws.readyState !== WS_OPEN ||
      direct.tcp.destroyed ||
      !direct.tcp.writable
    ) {
      return false;
    }
    this.cork(direct.tcp);
    direct.tcp.write(frames);
    direct.checkSlow();
    return true;
  }

  private cork(tcp: TcpSocket): void {
    if (!this.corked.has(tcp) && !tcp.destroyed) {
      tcp.cork();
      this.corked.add(tcp);
      this.schedule();
    }
  }

  /** Writes out everything pending now (also used on shutdown). */
  flush(): void {
    this.scheduled?.cancel();
    this.scheduled = undefined;
    this.lastFlush = performance.now();
    const sockets = [...this.corked];
    this.corked.clear();
    for (const tcp of sockets) tcp.uncork();
  }

  private schedule(): void {
    if (this.scheduled !== undefined) return;
    const wait = this.lastFlush + this.intervalMs - performance.now();
    if (wait <= 0) {
      const immediate = setImmediate(() => this.flush());
      this.scheduled = { cancel: () => clearImmediate(immediate) };
    } else {
      const timer = setTimeout(() => this.flush(), wait);
      this.scheduled = { cancel: () => clearTimeout(timer) };
    }
  }
}
