// The browser host: the same client runtime as the desktop app, headless, with the built
// renderer served on 127.0.0.1 and the typed API bridged over a loopback WebSocket. One process
// is one user; testers open the printed URL, and the end-to-end tests drive it with Chromium.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { createClientRuntime, type ClientRuntime, type RuntimeOptions } from '../client/runtime';
import { cryptoBackendFromEnv } from '../host/crypto-choice';
import { createDispatch } from '../ipc/dispatch';
import { attachBridge } from './bridge-server';
import { startEmbeddedRelay, type EmbeddedRelay } from '../host/embedded-relay';
import { keyFileStorage } from './key-file';
import { rendererCsp, staticResponse } from '../host/static-files';

export interface WebHostOptions {
  dataDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** A relay to use by default; without it the host starts its own on 127.0.0.1. */
  relayUrl?: string;
  /** The built renderer (`electron-vite build` writes out/renderer). */
  rendererDir?: string;
  /** Unlock the profile with a passphrase instead of the data folder's key file. */
  passphrase?: string;
  /** Extra runtime options (tests lower Argon2 cost or engine timers). */
  runtime?: Partial<Omit<RuntimeOptions, 'dataDir' | 'defaultRelayUrl'>>;
}

export interface WebHost {
  /** The page to open, token in the fragment. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly relayUrl: string;
  readonly runtime: ClientRuntime;
  close(): Promise<void>;
}

export const DEFAULT_RENDERER_DIR = resolve(import.meta.dirname, '../../out/renderer');

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const rendererDir = opts.rendererDir ?? DEFAULT_RENDERER_DIR;
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`no built renderer in ${rendererDir}: run \`npm run build\` first`);
  }
  const token = randomBytes(32).toString('base64url');
  let embedded: EmbeddedRelay | null = null;
  let runtime: ClientRuntime | null = null;
  try {
    if (!opts.relayUrl) embedded = await startEmbeddedRelay({ port: 0 });
    const relayUrl = opts.relayUrl ?? (embedded as EmbeddedRelay).localUrl;
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    runtime = await createClientRuntime({
      cryptoBackend: cryptoBackendFromEnv(),
      ...opts.runtime,
      dataDir: opts.dataDir,
      defaultRelayUrl: relayUrl,
      ...(opts.passphrase !== undefined
        ? { passphrase: opts.passphrase }
        : { safeStorage: keyFileStorage(join(opts.dataDir, 'web-host.key')) }),
    });
    const rt = runtime;
    const dispatch = createDispatch(rt.handlers);

    let port = 0;
    const server = createServer((req, res) => serveHttp(req, res, rendererDir, port));
    const bridge = attachBridge(server, {
      token,
      port: () => port,
      dispatch,
      subscribe: (listener) => rt.subscribe(listener),
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;

    let closing: Promise<void> | undefined;
    const relay = embedded;
    return {
      url: `http://127.0.0.1:${port}/#token=${token}`,
      port,
      token,
      relayUrl,
      runtime: rt,
      close() {
        closing ??= (async () => {
          bridge.close();
          server.closeAllConnections();
          await new Promise<void>((ok) => server.close(() => ok()));
          await rt.close();
          await relay?.relay.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await runtime?.close();
    await embedded?.relay.close();
    throw error;
  }
}

function serveHttp(req: IncomingMessage, res: ServerResponse, root: string, port: number): void {
  // Only this address, never a rebound DNS name pointing at it.
  if (req.headers.host !== `127.0.0.1:${port}`) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const csp = rendererCsp(`ws://127.0.0.1:${port}`);
  const response = staticResponse(root, req.url ?? '/', csp);
  res.writeHead(response.status, response.headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}
