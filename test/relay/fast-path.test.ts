// The relay's fast path writes the bytes Socket.IO would write. Here they are compared byte for
// byte with what the installed packages produce for the same emit: socket.io-parser's encoder,
// engine.io-parser's packet encoding (what engine.io's WebSocket transport sends) and ws's own
// frame builder, for every payload length form (7-bit, 16-bit, 64-bit) of text and binary frames.
// The benchmark's client frames are compared with ws's masked frames the same way. Then the
// start-up check: the installed versions are the tested ones, and any other version turns the
// direct writes off with one log line.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { encodePacket } from 'engine.io-parser';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { Encoder } from 'socket.io-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src-main/relay/batching';
import {
  checkVersions,
  encodeEventFrames,
  installedVersions,
  startupFastPath,
  TESTED_VERSIONS,
} from '../../src-main/relay/fast-path';
import { frameHeader, maskedFrame, OPCODE, readFrameHeader } from '../../src-main/relay/ws-frame';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  maskBuffer?: Buffer;
  generateMask?: (mask: Buffer) => void;
}
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

/** What socket.io + engine.io + ws put on the wire for `socket.emit(name, payload)`. */
function socketIoBytes(name: string, payload: unknown): Buffer {
  const parts = new Encoder().encode({ type: 2, nsp: '/', data: [name, payload] }) as (
    string | Buffer
  )[];
  const frames: Buffer[] = [];
  for (const part of parts) {
    encodePacket({ type: 'message', data: part }, true, (encoded) => {
      const text = typeof encoded === 'string';
      const data = text ? Buffer.from(encoded) : Buffer.from(encoded as Uint8Array);
      const opcode = text ? OPCODE.text : OPCODE.binary;
      frames.push(
        ...Sender.frame(data, { fin: true, rsv1: false, opcode, mask: false, readOnly: false }),
      );
    });
  }
  return Buffer.concat(frames);
}

// Frame payload lengths at each edge of the three length forms.
const SIZES = [0, 1, 125, 126, 127, 1000, 65_535, 65_536, 70_000, 300_000];

describe('fast path frames, byte for byte against socket.io, engine.io-parser and ws', () => {
  for (const size of SIZES) {
    it(`a binary event whose attachment is ${size} bytes`, () => {
      const event = { type: 'message', seq: 7, nick: 'alice', data: Buffer.alloc(size, 0xa5) };
      const ours = encodeEventFrames(new Encoder(), 'event', event);
      expect(ours.equals(socketIoBytes('event', event))).toBe(true);
    });

    it(`a text event whose frame is ${size + 30} bytes`, () => {
      // The text frame is '42["event",{"nick":"…"}]': 23 bytes around the nick, plus the nick.
      const event = {
        nick: 'é'.repeat(Math.floor(size / 2)) + 'x'.repeat(size % 2) + 'x'.repeat(7),
      };
      const ours = encodeEventFrames(new Encoder(), 'event', event);
      const theirs = socketIoBytes('event', event);
      expect(ours.length).toBe(theirs.length);
      expect(ours.equals(theirs)).toBe(true);
    });

    it(`a masked client frame of ${size} bytes (the benchmark's wire client)`, () => {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
      const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
      for (const opcode of [OPCODE.text, OPCODE.binary]) {
        const ws = Buffer.concat(
          Sender.frame(Buffer.from(payload), {
            fin: true,
            rsv1: false,
            opcode,
            mask: true,
            readOnly: false,
            maskBuffer: Buffer.alloc(4),
            generateMask: (m) => m.set(mask),
          }),
        );
        expect(maskedFrame(opcode, payload, mask).equals(ws)).toBe(true);
      }
    });

    it(`reads back the header of a ${size}-byte frame, and nothing of a partial header`, () => {
      const server = frameHeader(OPCODE.binary, size);
      const client = maskedFrame(OPCODE.text, Buffer.alloc(size), Buffer.from([1, 2, 3, 4]));
      // Behind 3 bytes of something else, as a frame that follows another in one read.
      const at = (frame: Buffer) => Buffer.concat([Buffer.alloc(3), frame]);
      expect(readFrameHeader(at(server), 3)).toEqual({
        fin: true,
        opcode: OPCODE.binary,
        masked: false,
        length: size,
        start: 3 + server.length,
      });
      expect(readFrameHeader(at(client), 3)).toEqual({
        fin: true,
        opcode: OPCODE.text,
        masked: true,
        length: size,
        start: 3 + server.length, // the mask follows the same header
      });
      for (let cut = 0; cut < server.length; cut++) {
        expect(readFrameHeader(at(server).subarray(0, 3 + cut), 3)).toBeNull();
      }
    });
  }

  it('covers all three length forms for text and binary frames', () => {
    const forms = (buf: Buffer) => buf[1] as number;
    const binary = (n: number) =>
      encodeEventFrames(new Encoder(), 'event', { seq: 1, data: Buffer.alloc(n) });
    // The binary frame follows the text frame; find its length byte after the first frame.
    const second = (buf: Buffer) => buf.subarray(2 + (buf[1] as number));
    expect(forms(second(binary(10)))).toBe(10);
    expect(forms(second(binary(1000)))).toBe(126);
    expect(forms(second(binary(70_000)))).toBe(127);
    const text = (n: number) => encodeEventFrames(new Encoder(), 'event', { t: 'x'.repeat(n) });
    expect(forms(text(10))).toBeLessThan(126);
    expect(forms(text(1000))).toBe(126);
    expect(forms(text(70_000))).toBe(127);
  });
});

describe('fast path start-up check', () => {
  it('the installed socket.io, engine.io, ws and parsers are the tested versions', () => {
    expect(installedVersions()).toEqual(TESTED_VERSIONS);
    expect(checkVersions(installedVersions())).toEqual({ enabled: true });
  });

  it('any other version turns the direct writes off, with one log line naming it', () => {
    const support = checkVersions({ ...TESTED_VERSIONS, ws: '8.22.0' });
    expect(support).toEqual({ enabled: false, reason: 'ws 8.22.0 (tested: 8.21.3)' });
    const lines: { obj: object; msg: string }[] = [];
    const logger = { warn: (obj: object, msg: string) => lines.push({ obj, msg }) };
    expect(startupFastPath(logger, support)).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toMatch(/^socket\.io fast path off/);
    expect(lines[0]?.obj).toEqual({ reason: 'ws 8.22.0 (tested: 8.21.3)' });
    expect(startupFastPath(logger, { enabled: true })).toBe(true);
    expect(lines).toHaveLength(1);
    const missing = checkVersions({ ...TESTED_VERSIONS, 'engine.io': undefined as never });
    expect(missing).toEqual({ enabled: false, reason: 'engine.io missing (tested: 6.6.12)' });
  });

  let http: HttpServer | undefined;
  let server: Server | undefined;
  let client: ClientSocket | undefined;
  afterEach(async () => {
    client?.disconnect();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    http?.close();
    [http, server, client] = [undefined, undefined, undefined];
  });

  it('with the fast path off, a batcher declines every direct write (Socket.IO sends)', async () => {
    http = createServer();
    const io = new Server(http, { transports: ['websocket'] });
    server = io;
    const on = new WriteBatcher(0);
    const off = new WriteBatcher(0, false);
    const connected = new Promise<Socket>((resolve) => io.on('connection', resolve));
    await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    client = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const socket = await connected;
    on.attach(socket, 1 << 24, () => undefined);
    off.attach(socket, 1 << 24, () => undefined);
    const frames = encodeEventFrames(io.encoder, 'event', { seq: 1 });
    expect(off.writeFrames(socket, frames)).toBe(false);
    expect(on.writeFrames(socket, frames)).toBe(true);
    on.flush();
    off.flush();
  });
});
