// RFC 6455 frames as the relay's fast path and the benchmark's wire client write them: FIN set,
// never fragmented, never compressed. Server frames are unmasked; client frames carry a 4-byte
// mask. The payload length takes 7, 16 or 64 bits. `readFrameHeader` reads a header back (the
// wire client's parser). test/relay/fast-path.test.ts checks every size class byte for byte
// against ws's own Sender, and reads each back.

export const OPCODE = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

function lengthBytes(length: number): 0 | 2 | 8 {
  return length < 126 ? 0 : length < 0x10000 ? 2 : 8;
}

/** Writes the first bytes of a frame header; returns where the mask (or payload) goes. */
function writeHeader(target: Buffer, opcode: number, length: number, masked: boolean): number {
  const ext = lengthBytes(length);
  const maskBit = masked ? 0x80 : 0;
  target[0] = 0x80 | opcode;
  if (ext === 0) target[1] = maskBit | length;
  else if (ext === 2) {
    target[1] = maskBit | 126;
    target.writeUInt16BE(length, 2);
  } else {
    target[1] = maskBit | 127;
    target.writeBigUInt64BE(BigInt(length), 2);
  }
  return 2 + ext;
}

/** The header of an unmasked (server) frame with a `length`-byte payload. */
export function frameHeader(opcode: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(2 + lengthBytes(length));
  writeHeader(header, opcode, length, false);
  return header;
}

/** A whole masked (client) frame in one buffer: header, `mask` (4 bytes), masked payload. */
export function maskedFrame(opcode: number, payload: Uint8Array, mask: Uint8Array): Buffer {
  const n = payload.length;
  const frame = Buffer.allocUnsafe(2 + lengthBytes(n) + 4 + n);
  const m = writeHeader(frame, opcode, n, true);
  frame.set(mask.subarray(0, 4), m);
  const start = m + 4;
  for (let i = 0; i < n; i++)
    frame[start + i] = (payload[i] as number) ^ (frame[m + (i & 3)] as number);
  return frame;
}

/** A frame's header as read back: what `frameHeader` and `maskedFrame` write. */
export interface FrameHead {
  readonly fin: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  /** The payload's length. */
  readonly length: number;
  /** Where the mask (if masked) or else the payload starts, counted from the buffer's start. */
  readonly start: number;
}

/** Reads the header of the frame at `at` in `chunk`, or null while it is not all there yet. */
export function readFrameHeader(chunk: Buffer, at: number): FrameHead | null {
  if (chunk.length - at < 2) return null;
  const b0 = chunk[at] as number;
  const b1 = chunk[at + 1] as number;
  let length = b1 & 0x7f;
  let start = at + 2;
  if (length === 126) {
    if (chunk.length - at < 4) return null;
    length = chunk.readUInt16BE(at + 2);
    start = at + 4;
  } else if (length === 127) {
    if (chunk.length - at < 10) return null;
    length = Number(chunk.readBigUInt64BE(at + 2));
    start = at + 10;
  }
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked: (b1 & 0x80) !== 0, length, start };
}
