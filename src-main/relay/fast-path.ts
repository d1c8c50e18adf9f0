// The relay's fast path, in one place: broadcasts encoded once as the bytes Socket.IO would send
// (`encodeEventFrames`) and written straight to each member's TCP socket (batching.ts). That
// relies on how socket.io-parser, engine.io-parser, engine.io's WebSocket transport and ws frame
// a packet, and on engine.io's private write queue. test/relay/fast-path.test.ts checks the
// bytes against those packages at exactly the versions below; with any other version installed
// `fastPathSupport()` says no, the relay logs why once and sends every event through Socket.IO.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { frameHeader, OPCODE } from './ws-frame';

/** The versions the fast path's bytes were checked against (package-lock.json pins them). */
export const TESTED_VERSIONS: Readonly<Record<string, string>> = {
  'socket.io': '4.8.4',
  'socket.io-parser': '4.2.7',
  'engine.io': '6.6.12',
  'engine.io-parser': '5.2.3',
  ws: '8.21.3',
};

/** Which package resolves which, as Node loads them (socket.io -> engine.io -> ws). */
const RESOLVED_FROM: Readonly<Record<string, string | null>> = {
  'socket.io': null,
  'socket.io-parser': 'socket.io',
  'engine.io': 'socket.io',
  'engine.io-parser': 'engine.io',
  ws: 'engine.io',
};

/** The package.json of `name`, found from its entry point upwards. */
function packageJsonOf(name: string, fromFile: string): string {
  let dir = dirname(createRequire(fromFile).resolve(name));
  for (;;) {
    const candidate = join(dir, 'package.json');
    try {
      // Builds may carry their own package.json (engine.io-parser's build/cjs has only a name).
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === name && typeof pkg.version === 'string') return candidate;
    } catch {
      // no package.json at this level
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json for ${name}`);
    dir = up;
  }
}

/** The installed versions of the packages the fast path depends on, as Node resolves them. */
export function installedVersions(): Record<string, string> {
  const paths = new Map<string, string>();
  const versions: Record<string, string> = {};
  for (const [name, parent] of Object.entries(RESOLVED_FROM)) {
    const from = parent === null ? import.meta.url : (paths.get(parent) as string);
    const path = packageJsonOf(name, from);
    paths.set(name, path);
    versions[name] = String(
      (JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown }).version,
    );
  }
  return versions;
}

/** socket.io-parser's Encoder (the relay passes `io.encoder`, the tests a fresh one). */
export interface PacketEncoder {
  encode(packet: { type: number; nsp: string; data: unknown }): unknown;
}

export type FastPathSupport = { enabled: true } | { enabled: false; reason: string };

/** Compares `installed` with TESTED_VERSIONS. */
export function checkVersions(installed: Readonly<Record<string, string>>): FastPathSupport {
  const off = Object.entries(TESTED_VERSIONS)
    .filter(([name, version]) => installed[name] !== version)
    .map(([name, version]) => `${name} ${installed[name] ?? 'missing'} (tested: ${version})`);
  return off.length === 0 ? { enabled: true } : { enabled: false, reason: off.join(', ') };
}

let support: FastPathSupport | undefined;

/** Whether the installed packages are the tested ones; read once per process. */
export function fastPathSupport(): FastPathSupport {
  if (!support) {
    try {
      support = checkVersions(installedVersions());
    } catch (error) {
      support = { enabled: false, reason: `cannot read the installed versions (${String(error)})` };
    }
  }
  return support;
}

/**
 * The relay's start-up check: whether it may write frames directly, with one log line when not.
 */
export function startupFastPath(
  logger: { warn(obj: object, msg: string): void },
  support: FastPathSupport = fastPathSupport(),
): boolean {
  if (!support.enabled) {
    logger.warn(
      { reason: support.reason },
      'socket.io fast path off: installed versions differ from the tested ones; every event goes through Socket.IO',
    );
  }
  return support.enabled;
}

/**
 * The bytes Socket.IO would put on the wire for `socket.emit(name, payload)`, encoded once so a
 * broadcast can hand the same buffer to every client: each Socket.IO packet part becomes an
 * Engine.IO `message` (a text frame '4' + packet, or a binary frame with the attachment's
 * bytes), each an unmasked, unfragmented WebSocket frame, all concatenated.
 */
export function encodeEventFrames(encoder: PacketEncoder, name: string, payload: unknown): Buffer {
  const parts = encoder.encode({ type: 2 /* EVENT */, nsp: '/', data: [name, payload] }) as (
    string | Uint8Array
  )[];
  const frames: Buffer[] = [];
  let length = 0;
  for (const part of parts) {
    const text = typeof part === 'string';
    const body = text
      ? Buffer.from(`4${part}`)
      : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    const header = frameHeader(text ? OPCODE.text : OPCODE.binary, body.length);
    frames.push(header, body);
    length += header.length + body.length;
  }
  return Buffer.concat(frames, length);
}
