// Write batching for client connections. Engine.IO's WebSocket transport writes every frame with
// its own syscall, and a binary `event` is two frames, so under load the relay spent over half
// its CPU in writev. Instead each TCP socket is corked on its first write in an event-loop turn
// and uncorked in that turn's check phase (setImmediate), so everything the relay sends to one
// client during a turn (typically several events) leaves in a single writev. Added latency is
// bounded by the rest of the current turn.
import type { Socket as TcpSocket } from 'node:net';
import type { Socket } from 'socket.io';

const corked = new Set<TcpSocket>();
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  const sockets = [...corked];
  corked.clear();
  for (const tcp of sockets) tcp.uncork();
}

/**
 * Also the relay's backpressure: when more than `maxBuffered` bytes wait in a client's TCP socket
 * (it stopped reading, or reads far slower than its rooms talk), `onSlow` runs once; the caller
 * disconnects it, and the client may resume from its last seq while its nick is reserved.
 */
export function batchWrites(socket: Socket, maxBuffered: number, onSlow: () => void): void {
  const transport = socket.conn.transport;
  // For a WebSocket connection this is the TCP socket the upgrade request arrived on, which ws
  // keeps writing to.
  const tcp = socket.request.socket;
  const send = transport.send.bind(transport);
  let slow = false;
  transport.send = (packets) => {
    if (!corked.has(tcp) && !tcp.destroyed) {
      tcp.cork();
      corked.add(tcp);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    send(packets);
    if (tcp.writableLength > maxBuffered && !slow) {
      slow = true;
      onSlow();
    }
  };
}
