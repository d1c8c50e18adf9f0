// The loopback WebSocket that carries the typed API to a renderer running in a browser. A page
// may connect only with the per-launch token (from the URL fragment, which browsers never send
// to servers), only from this host's own origin and only through a 127.0.0.1 Host header (no
// DNS rebinding). Each call goes through the same validating dispatcher as Electron's IPC.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import * as v from 'valibot';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ClientEvent } from '../../src-shared/api';
import type { Dispatch } from '../ipc/dispatch';
import {
  BRIDGE_MAX_FRAME,
  BRIDGE_PATH,
  type BridgeServerMessage,
} from '../../src-shared/bridge-wire';

const Call = v.strictObject({
  t: v.literal('call'),
  id: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  method: v.pipe(v.string(), v.maxLength(64)),
  arg: v.unknown(),
});

/** A client that stops reading is cut off rather than buffered without bound. */
const MAX_BUFFERED = 16 * 1024 * 1024;

export interface BridgeOptions {
  token: string;
  /** The port the page is served from (known once the server listens). */
  port: () => number;
  dispatch: Dispatch;
  subscribe: (listener: (event: ClientEvent) => void) => () => void;
}

export interface Bridge {
  readonly clients: number;
  close(): void;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Why an upgrade request is refused, or null when it may connect. */
export function refuseUpgrade(req: IncomingMessage, token: string, port: number): string | null {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== BRIDGE_PATH) return '404 Not Found';
  if (req.headers.host !== `127.0.0.1:${port}`) return '403 Forbidden';
  if (req.headers.origin !== `http://127.0.0.1:${port}`) return '403 Forbidden';
  if (!sameSecret(url.searchParams.get('token') ?? '', token)) return '401 Unauthorized';
  return null;
}

export function attachBridge(server: Server, opts: BridgeOptions): Bridge {
  const wss = new WebSocketServer({ noServer: true, maxPayload: BRIDGE_MAX_FRAME });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = refuseUpgrade(req, opts.token, opts.port());
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });

  function serve(ws: WebSocket): void {
    const send = (message: BridgeServerMessage) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(1008, 'too slow');
        return;
      }
      ws.send(JSON.stringify(message));
    };
    const unsubscribe = opts.subscribe((event) => send({ t: 'event', event }));
    ws.on('message', (data, isBinary) => {
      let parsed: v.InferOutput<typeof Call>;
      try {
        if (isBinary) throw new Error('binary frame');
        parsed = v.parse(Call, JSON.parse(data.toString()));
      } catch {
        ws.close(1003, 'malformed call');
        return;
      }
      void opts.dispatch(parsed.method, parsed.arg).then((reply) => {
        send({ t: 'reply', id: parsed.id, reply });
      });
    });
    ws.on('close', unsubscribe);
    ws.on('error', () => ws.terminate());
  }

  return {
    get clients() {
      return wss.clients.size;
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
