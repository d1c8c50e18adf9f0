// The relay's entry point: starts it in-process (the app embeds it this way; cli.ts wraps it for
// teams running their own). One HTTP server carries Socket.IO (WebSocket only), /healthz and
// /metrics.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { Server } from 'socket.io';
import { MemoryRoomLog } from './memory-log';
import { RelayMetrics } from './metrics';
import { resolveOptions, type RelayOptions, type RelayOptionsInput } from './options';
import { RedisRoomLog } from './redis-log';
import type { RoomLog } from './room-log';
import { RelayCore } from './server';

export type { RelayOptions, RelayOptionsInput, RelayLimits } from './options';
export { DEFAULT_OPTIONS, DEFAULT_LIMITS } from './options';
export type { RoomLog, Attachment, RetentionLimits } from './room-log';
export { MemoryRoomLog } from './memory-log';
export { RedisRoomLog } from './redis-log';
export * from './wire';

export interface RunningRelay {
  /** e.g. http://127.0.0.1:7438; give it to socket.io-client with transports: ['websocket']. */
  readonly url: string;
  readonly port: number;
  /** Disconnects every client, stops listening and releases the log. Idempotent. */
  close(): Promise<void>;
}

/** Starts a relay; `port: 0` (the default) picks a free port, `host` defaults to 127.0.0.1. */
export async function startRelay(input: RelayOptionsInput = {}): Promise<RunningRelay> {
  const options = resolveOptions(input);
  const logger = options.logger ?? pino({ level: 'silent' });
  const log = await openLog(options, logger);

  const metrics = new RelayMetrics(options.processMetrics);
  const started = Date.now();
  const http = createServer((req, res) => {
    handleHttp(req, res, { log, metrics, core: () => core, started }).catch((err: unknown) => {
      logger.error({ err }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    // Above the payload limit so a moderately oversized `send` gets PAYLOAD_TOO_LARGE as a
    // reply; far larger frames are cut off by the transport before they are buffered.
    maxHttpBufferSize: options.limits.maxPayloadBytes * 2 + 64 * 1024,
    // A silently vanished client is noticed within ~20 s (the defaults take up to 45 s); its
    // grace period starts then.
    pingInterval: 10_000,
    pingTimeout: 10_000,
  });
  const core = new RelayCore(io, log, options, metrics, logger);
  metrics.observe({
    connections: () => core.connectionCount,
    rooms: () => core.roomCount,
    members: () => core.memberCount,
  });

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await io.close();
    await log.close();
    throw err;
  }
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, log: log.kind }, 'relay listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= (async () => {
        await core.close();
        const ioClosed = io.close();
        http.closeAllConnections(); // keep-alive /metrics scrapers must not hold shutdown up
        await ioClosed;
        await log.close();
        logger.info('relay closed');
      })();
      return closing;
    },
  };
}

async function openLog(options: RelayOptions, logger: Logger): Promise<RoomLog> {
  if (options.redisUrl === undefined) return new MemoryRoomLog({ retention: options.retention });
  return RedisRoomLog.connect({
    url: options.redisUrl,
    keyPrefix: options.redisKeyPrefix,
    retention: options.retention,
    heartbeatMs: options.redisHeartbeatMs,
    logger,
  });
}

interface HttpDeps {
  readonly log: RoomLog;
  readonly metrics: RelayMetrics;
  readonly core: () => RelayCore;
  readonly started: number;
}

async function handleHttp(req: IncomingMessage, res: ServerResponse, deps: HttpDeps) {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/healthz') {
    const healthy = deps.log.healthy();
    const body = JSON.stringify({
      status: healthy ? 'ok' : 'degraded',
      log: deps.log.kind,
      connections: deps.core().connectionCount,
      rooms: deps.core().roomCount,
      uptimeSeconds: Math.round((Date.now() - deps.started) / 1000),
    });
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(body);
    return;
  }
  if (path === '/metrics') {
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType }).end(text);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}
