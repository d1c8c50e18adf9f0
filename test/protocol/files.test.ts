// The file format of docs/PROTOCOL.md "Files": chunk reassembly accepts exactly the chunks the
// sender sealed, in order, and fails the whole file with a typed reason otherwise (never part of
// a file); the attachments round-trip and fit a CHAT within the frame limit.
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, MAX_ATTACHMENT_BYTES } from '../../src-main/protocol/codec';
import { Crypto, cryptoReady, seededRandom } from '../../src-main/protocol/crypto';
import type { FileChunk, FileFailure } from '../../src-main/protocol/files';
import {
  acceptChunk,
  assembleFile,
  CHUNK_BYTES,
  decodeAttachment,
  encodeAttachment,
  encryptFile,
  FileError,
  startAssembly,
} from '../../src-main/protocol/files';

// Top level: the describe bodies below build their fixtures at collection time.
await cryptoReady();

const crypto = () => new Crypto(seededRandom('files'));

function sample(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

/** Runs reassembly and returns the typed failure, asserting that no bytes came out. */
function failure(run: () => Uint8Array): { code: FileFailure; message: string } {
  let out: Uint8Array | undefined;
  try {
    out = run();
  } catch (error) {
    expect(error).toBeInstanceOf(FileError);
    const e = error as FileError;
    return { code: e.code, message: e.message };
  }
  throw new Error(`reassembly returned ${out?.length} bytes instead of failing`);
}

describe('file chunk reassembly', () => {
  const c = crypto();
  const bytes = sample(3 * CHUNK_BYTES + 1234);
  const file = encryptFile(c, bytes, { name: 'report.pdf', mime: 'application/pdf' });

  it('gives back exactly the file from its chunks in order', () => {
    expect(file.chunks).toHaveLength(4);
    expect(file.offer.chunks).toBe(4);
    expect(assembleFile(c, file.offer, file.chunks)).toEqual(bytes);
  });

  it('an empty file is one empty chunk', () => {
    const empty = encryptFile(c, new Uint8Array(0), { name: 'empty', mime: '' });
    expect(empty.chunks).toHaveLength(1);
    expect(assembleFile(c, empty.offer, empty.chunks)).toEqual(new Uint8Array(0));
  });

  it('a missing chunk in the middle: chunk-out-of-order, naming the missing one', () => {
    const chunks = [file.chunks[0], file.chunks[2], file.chunks[3]] as FileChunk[];
    const f = failure(() => assembleFile(c, file.offer, chunks));
    expect(f.code).toBe('chunk-out-of-order');
    expect(f.message).toBe('chunk 2 arrived before chunk 1 (missing or reordered)');
  });

  it('a missing last chunk: incomplete', () => {
    const f = failure(() => assembleFile(c, file.offer, file.chunks.slice(0, 3)));
    expect(f).toEqual({ code: 'incomplete', message: '3 of 4 chunks arrived' });
  });

  it('a duplicated chunk: chunk-duplicate', () => {
    const chunks = [file.chunks[0], file.chunks[1], file.chunks[1], file.chunks[2]] as FileChunk[];
    const f = failure(() => assembleFile(c, file.offer, chunks));
    expect(f).toEqual({ code: 'chunk-duplicate', message: 'chunk 1 arrived twice' });
  });

  it('a chunk after the last one: refused, nothing released', () => {
    const chunks = [...file.chunks, file.chunks[3]] as FileChunk[];
    expect(failure(() => assembleFile(c, file.offer, chunks)).code).toBe('chunk-beyond-end');
  });

  it('reordered chunks: chunk-out-of-order', () => {
    const chunks = [file.chunks[1], file.chunks[0], file.chunks[2], file.chunks[3]] as FileChunk[];
    const f = failure(() => assembleFile(c, file.offer, chunks));
    expect(f.code).toBe('chunk-out-of-order');
  });

  it('a chunk relabelled with another index fails authentication (index in the AD)', () => {
    // Chunks 1 and 2 swapped and renumbered so that the indices look in order.
    const one = file.chunks[1] as FileChunk;
    const two = file.chunks[2] as FileChunk;
    const chunks = [file.chunks[0], { ...two, index: 1 }, { ...one, index: 2 }, file.chunks[3]];
    const f = failure(() => assembleFile(c, file.offer, chunks as FileChunk[]));
    expect(f).toEqual({ code: 'chunk-tampered', message: 'chunk 1 failed authentication' });
  });

  it('a chunk of another file (same key would not help: the file id is in the AD)', () => {
    const other = encryptFile(c, bytes, { name: 'other', mime: '' });
    const forged = { ...(other.chunks[0] as FileChunk), id: file.offer.id };
    const f = failure(() => assembleFile(c, file.offer, [forged, ...file.chunks.slice(1)]));
    expect(f.code).toBe('chunk-tampered');
  });

  it('a flipped bit in any chunk: chunk-tampered', () => {
    for (let i = 0; i < file.chunks.length; i++) {
      const chunks = file.chunks.map((ch) => ({ ...ch, sealed: ch.sealed.slice() }));
      const target = chunks[i] as FileChunk;
      const at = target.sealed.length - 20;
      target.sealed[at] = (target.sealed[at] ?? 0) ^ 0x01;
      const f = failure(() => assembleFile(c, file.offer, chunks));
      expect(f).toEqual({ code: 'chunk-tampered', message: `chunk ${i} failed authentication` });
    }
  });

  it('chunks re-sealed by someone holding the file key still fail the announced hash', () => {
    // A member who knows the key re-encrypts chunk 3 with other content: the AEAD passes, the
    // hash chain the sender announced does not.
    const last = file.chunks[3] as FileChunk;
    const ad = c.hash('file-chunk-ad', file.offer.id, new Uint8Array([0, 0, 0, 3, 0, 0, 0, 4]));
    const resealed = { ...last, sealed: c.seal(sample(1234).reverse(), ad, file.offer.key) };
    const f = failure(() => assembleFile(c, file.offer, [...file.chunks.slice(0, 3), resealed]));
    expect(f.code).toBe('hash-mismatch');
  });

  it('a truncated chunk of the right key and index: chunk-wrong-size', () => {
    const ad = c.hash('file-chunk-ad', file.offer.id, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 4]));
    const short = {
      ...(file.chunks[0] as FileChunk),
      sealed: c.seal(sample(10), ad, file.offer.key),
    };
    const f = failure(() => assembleFile(c, file.offer, [short, ...file.chunks.slice(1)]));
    expect(f).toEqual({ code: 'chunk-wrong-size', message: 'chunk 0 has 10 bytes' });
  });

  it('acceptChunk carries the state from chunk to chunk and says when the file is complete', () => {
    let state = startAssembly(c, file.offer);
    const completes: boolean[] = [];
    for (const chunk of file.chunks) {
      const out = acceptChunk(c, file.offer, state, chunk);
      if (!out.ok) throw out.error;
      completes.push(out.complete);
      state = out.state;
    }
    expect(completes).toEqual([false, false, false, true]);
  });
});

describe('attachments on the wire', () => {
  const c = crypto();

  it('offer and chunk round-trip; a full chunk fits the CHAT attachment limit', () => {
    const file = encryptFile(c, sample(CHUNK_BYTES + 5), { name: 'ph😀to.png', mime: 'image/png' });
    const offer = decodeAttachment(encodeAttachment(file.offer));
    expect(offer).toEqual({ ok: true, value: file.offer });
    const bytes = encodeAttachment(file.chunks[0] as FileChunk);
    expect(bytes.length).toBeLessThan(MAX_ATTACHMENT_BYTES);
    expect(MAX_ATTACHMENT_BYTES + 512).toBeLessThan(MAX_FRAME_BYTES);
    expect(decodeAttachment(bytes)).toEqual({ ok: true, value: file.chunks[0] });
  });

  it('an offer whose chunk count does not match its size is refused', () => {
    const file = encryptFile(c, sample(100), { name: 'a', mime: '' });
    const bad = decodeAttachment(encodeAttachment({ ...file.offer, chunks: 2 }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('offer-inconsistent');
  });

  it('random bytes never throw out of the decoder', () => {
    const r = seededRandom('attachment-fuzz');
    for (let i = 0; i < 2000; i++) {
      const length = (r(1)[0] ?? 0) % 200;
      const out = decodeAttachment(r(length));
      expect(out.ok).toBe(false);
    }
  });
});
