// Encrypted files (docs/PROTOCOL.md "Files"): the pure format, no I/O. A file travels as one
// CHAT whose plaintext carries an OFFER attachment (file key, name, size, MIME type, chunk size
// and count, hash of the ciphertext), then one CHAT per CHUNK attachment, each chunk sealed with
// the file key. The engine carries attachments as opaque bytes; everything about files is here.
//
// Each chunk is XChaCha20-Poly1305 under the file's own random key, with the file id, the chunk
// index and the chunk count in the associated data; the offer binds the whole ciphertext through
// a hash chain over the sealed chunks. A receiver accepts chunks strictly in order and never
// releases bytes before the last chunk has passed and the chain matches the offer: a missing,
// duplicated, reordered or tampered chunk fails the whole file with a typed reason.
import { decode, encode } from '@msgpack/msgpack';
import * as v from 'valibot';
import { anyBytes, MAX_ATTACHMENT_BYTES } from './codec';
import type { Crypto } from './crypto';
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from './crypto';
import { toHex } from './types';

export const FILE_FORMAT_VERSION = 1;
/** Plaintext bytes per chunk: a sealed chunk inside a CHAT stays well under the 64 KiB frame. */
export const CHUNK_BYTES = 60 * 1024;
/** The default size limit for sending and receiving a file (configurable by the host). */
export const DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024;
/** No host may raise its limit past this: a chunk count must stay small enough to track. */
export const HARD_MAX_FILE_BYTES = 1024 * 1024 * 1024;
const FILE_ID_BYTES = 16;
const MAX_NAME_BYTES = 255;
const MAX_MIME_BYTES = 127;

const utf8 = new TextEncoder();
const bytesOf = (n: number) =>
  v.pipe(
    anyBytes,
    v.check((b) => b.length === n, `expected ${n} bytes`),
  );
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(HARD_MAX_FILE_BYTES));

const offerSchema = v.strictObject({
  v: v.literal(FILE_FORMAT_VERSION),
  kind: v.literal('offer'),
  id: bytesOf(FILE_ID_BYTES),
  name: v.pipe(
    v.string(),
    v.check((s) => s.length > 0 && utf8.encode(s).length <= MAX_NAME_BYTES, 'bad file name'),
  ),
  mime: v.pipe(
    v.string(),
    v.check((s) => utf8.encode(s).length <= MAX_MIME_BYTES, 'bad MIME type'),
  ),
  size: count,
  chunkBytes: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(CHUNK_BYTES)),
  chunks: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(HARD_MAX_FILE_BYTES)),
  hash: bytesOf(32),
  key: bytesOf(32),
});

const chunkSchema = v.strictObject({
  v: v.literal(FILE_FORMAT_VERSION),
  kind: v.literal('chunk'),
  id: bytesOf(FILE_ID_BYTES),
  index: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(HARD_MAX_FILE_BYTES)),
  sealed: v.pipe(anyBytes, v.maxLength(CHUNK_BYTES + AEAD_NONCE_BYTES + AEAD_TAG_BYTES)),
});

export type FileOffer = v.InferOutput<typeof offerSchema>;
export type FileChunk = v.InferOutput<typeof chunkSchema>;
export type Attachment = FileOffer | FileChunk;

/** Stable names of the ways a file can fail; they appear in logs, the UI and test names. */
export type FileFailure =
  | 'attachment-malformed'
  | 'offer-inconsistent'
  | 'chunk-duplicate'
  | 'chunk-out-of-order'
  | 'chunk-beyond-end'
  | 'chunk-tampered'
  | 'chunk-wrong-size'
  | 'hash-mismatch'
  | 'incomplete';

export class FileError extends Error {
  constructor(
    readonly code: FileFailure,
    message: string,
  ) {
    super(message);
    this.name = 'FileError';
  }
}

export function encodeAttachment(attachment: Attachment): Uint8Array {
  const bytes = encode(attachment);
  if (bytes.length > MAX_ATTACHMENT_BYTES) throw new RangeError(`attachment of ${bytes.length}`);
  return bytes;
}

/** Decodes untrusted attachment bytes; never throws. */
export function decodeAttachment(
  bytes: Uint8Array,
): { ok: true; value: Attachment } | { ok: false; error: FileError } {
  let raw: unknown;
  try {
    raw = decode(bytes, { maxStrLength: MAX_ATTACHMENT_BYTES, maxBinLength: MAX_ATTACHMENT_BYTES });
  } catch {
    return { ok: false, error: new FileError('attachment-malformed', 'not MessagePack') };
  }
  const kind = (raw as { kind?: unknown } | null)?.kind;
  const parsed = kind === 'offer' ? v.safeParse(offerSchema, raw) : v.safeParse(chunkSchema, raw);
  if (!parsed.success) {
    const why = parsed.issues[0]?.message ?? 'invalid';
    return { ok: false, error: new FileError('attachment-malformed', `bad attachment: ${why}`) };
  }
  if (parsed.output.kind === 'offer') {
    const o = parsed.output;
    if (o.chunks !== chunkCount(o.size, o.chunkBytes)) {
      const msg = `${o.size} bytes in chunks of ${o.chunkBytes} are not ${o.chunks} chunks`;
      return { ok: false, error: new FileError('offer-inconsistent', msg) };
    }
  }
  return { ok: true, value: parsed.output };
}

/** An empty file is still one (empty) chunk, so every file has a last chunk that completes it. */
export function chunkCount(size: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

/** Plaintext length chunk `index` must have. */
export function chunkLength(offer: FileOffer, index: number): number {
  return index < offer.chunks - 1
    ? offer.chunkBytes
    : offer.size - (offer.chunks - 1) * offer.chunkBytes;
}

export function fileIdHex(id: Uint8Array): string {
  return toHex(id);
}

/** Associated data of a chunk: label, file id, index and count, each length-prefixed. */
function chunkAd(crypto: Crypto, id: Uint8Array, index: number, chunks: number): Uint8Array {
  const position = new Uint8Array(8);
  const view = new DataView(position.buffer);
  view.setUint32(0, index);
  view.setUint32(4, chunks);
  return crypto.hash('file-chunk-ad', id, position);
}

/** The start of the ciphertext hash chain; `chainNext` folds in each sealed chunk in order. */
export function chainStart(crypto: Crypto, id: Uint8Array): Uint8Array {
  return crypto.hash('file-chain', id);
}

export function chainNext(crypto: Crypto, chain: Uint8Array, sealed: Uint8Array): Uint8Array {
  return crypto.hash('file-chain', chain, sealed);
}

export interface EncryptedFile {
  offer: FileOffer;
  chunks: FileChunk[];
}

/** Sender side: a fresh random file id and key, the file cut and sealed chunk by chunk. */
export function encryptFile(
  crypto: Crypto,
  bytes: Uint8Array,
  meta: { name: string; mime: string },
  chunkBytes: number = CHUNK_BYTES,
): EncryptedFile {
  const id = crypto.random(FILE_ID_BYTES);
  const key = crypto.random(32);
  const total = chunkCount(bytes.length, chunkBytes);
  const chunks: FileChunk[] = [];
  let chain = chainStart(crypto, id);
  for (let index = 0; index < total; index++) {
    const part = bytes.subarray(index * chunkBytes, (index + 1) * chunkBytes);
    const sealed = crypto.seal(part, chunkAd(crypto, id, index, total), key);
    chain = chainNext(crypto, chain, sealed);
    chunks.push({ v: FILE_FORMAT_VERSION, kind: 'chunk', id, index, sealed });
  }
  const offer: FileOffer = {
    v: FILE_FORMAT_VERSION,
    kind: 'offer',
    id,
    name: meta.name,
    mime: meta.mime,
    size: bytes.length,
    chunkBytes,
    chunks: total,
    hash: chain,
    key,
  };
  return { offer, chunks };
}

/** What a receiver must remember between chunks (the store keeps it across restarts). */
export interface AssemblyState {
  /** The index the next chunk must have. */
  readonly next: number;
  /** The hash chain over the sealed chunks accepted so far. */
  readonly chain: Uint8Array;
}

export function startAssembly(crypto: Crypto, offer: FileOffer): AssemblyState {
  return { next: 0, chain: chainStart(crypto, offer.id) };
}

export type ChunkOutcome =
  | { ok: true; plaintext: Uint8Array; state: AssemblyState; complete: boolean }
  | { ok: false; error: FileError };

/**
 * Receiver side, one chunk: in order, authentic, of the right length; on the last one the hash
 * chain must equal the offer's. Any failure is final for the file (the caller drops what it
 * kept): a partial file is never released.
 */
export function acceptChunk(
  crypto: Crypto,
  offer: FileOffer,
  state: AssemblyState,
  chunk: FileChunk,
): ChunkOutcome {
  const fail = (code: FileFailure, message: string): ChunkOutcome => ({
    ok: false,
    error: new FileError(code, message),
  });
  if (chunk.index >= offer.chunks) {
    return fail('chunk-beyond-end', `chunk ${chunk.index} of a file of ${offer.chunks} chunks`);
  }
  if (chunk.index < state.next) {
    return fail('chunk-duplicate', `chunk ${chunk.index} arrived twice`);
  }
  if (chunk.index > state.next) {
    return fail(
      'chunk-out-of-order',
      `chunk ${chunk.index} arrived before chunk ${state.next} (missing or reordered)`,
    );
  }
  let plaintext: Uint8Array;
  try {
    plaintext = crypto.open(
      chunk.sealed,
      chunkAd(crypto, offer.id, chunk.index, offer.chunks),
      offer.key,
    );
  } catch {
    return fail('chunk-tampered', `chunk ${chunk.index} failed authentication`);
  }
  if (plaintext.length !== chunkLength(offer, chunk.index)) {
    return fail('chunk-wrong-size', `chunk ${chunk.index} has ${plaintext.length} bytes`);
  }
  const chain = chainNext(crypto, state.chain, chunk.sealed);
  const complete = chunk.index === offer.chunks - 1;
  if (complete && !crypto.constantTimeEqual(chain, offer.hash)) {
    return fail('hash-mismatch', 'the ciphertext differs from the one the sender announced');
  }
  return { ok: true, plaintext, state: { next: chunk.index + 1, chain }, complete };
}

/**
 * Reassembles a whole file from chunks in arrival order, or throws a FileError. Never returns
 * part of a file. (The runtime does the same chunk by chunk with `acceptChunk`, keeping the
 * parts in the store.)
 */
export function assembleFile(
  crypto: Crypto,
  offer: FileOffer,
  chunks: readonly FileChunk[],
): Uint8Array {
  let state = startAssembly(crypto, offer);
  const parts: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (state.next === offer.chunks) {
      throw new FileError('chunk-beyond-end', `chunk ${chunk.index} after the last chunk`);
    }
    const outcome = acceptChunk(crypto, offer, state, chunk);
    if (!outcome.ok) throw outcome.error;
    parts.push(outcome.plaintext);
    state = outcome.state;
  }
  if (state.next !== offer.chunks) {
    throw new FileError('incomplete', `${state.next} of ${offer.chunks} chunks arrived`);
  }
  const out = new Uint8Array(offer.size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** MIME types the renderer previews inline (as a blob: image, after sniffing the bytes). */
export const PREVIEW_TYPES: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
];
