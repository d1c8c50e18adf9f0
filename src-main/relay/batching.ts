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
import type { Socket as TcpSocket } from 'node:net';
import type { Socket } from 'socket.io';

export class WriteBatcher {
  private readonly corked = new Set<TcpSocket>();
  private scheduled: { cancel: () => void } | undefined;
  private lastFlush = -Infinity;

  constructor(private readonly intervalMs: number) {}

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
    transport.send = (packets) => {
      if (!this.corked.has(tcp) && !tcp.destroyed) {
        tcp.cork();
        this.corked.add(tcp);
        this.schedule();
      }
      send(packets);
      if (tcp.writableLength > maxBuffered && !slow) {
        slow = true;
        onSlow();
      }
    };
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
