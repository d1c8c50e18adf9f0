// Files in the renderer: handing a picked, dropped or pasted file to the runtime in base64 parts
// (the bridge carries JSON), reading a complete one back into a Blob, and deciding from its
// first bytes whether it may be shown as an image. Keys and encryption stay in the main process.
import { FILE_PART_BYTES } from '../../../src-shared/api';
import type { Api } from './api';

/** "25 MB", "1.5 MB", "740 KB" (binary units, shown as people read them). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

export function tooLargeMessage(name: string, size: number, limit: number): string {
  return `${name} is ${formatSize(size)}; files are limited to ${formatSize(limit)}`;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(data: string): Uint8Array {
  const binary = atob(data);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Hands `file` to the runtime part by part (progress 0..1), then has it sent. */
export async function uploadFile(
  api: Api,
  roomId: string,
  file: Blob & { name?: string },
  onProgress: (fraction: number) => void,
  text = '',
): Promise<string> {
  const name = file.name && file.name.length > 0 ? file.name.slice(0, 255) : 'pasted-file';
  const { uploadId } = await api.call('sendFileStart', {
    roomId,
    name,
    mime: file.type.slice(0, 127),
    size: file.size,
    ...(text ? { text } : {}),
  });
  for (let at = 0; at < file.size; at += FILE_PART_BYTES) {
    const part = new Uint8Array(await file.slice(at, at + FILE_PART_BYTES).arrayBuffer());
    await api.call('sendFilePart', { uploadId, data: toBase64(part) });
    onProgress(Math.min(1, (at + part.length) / Math.max(1, file.size)));
  }
  onProgress(1);
  return (await api.call('sendFileCommit', { uploadId })).fileId;
}

/** A complete file's bytes, part by part. */
export async function readFileBytes(api: Api, roomId: string, fileId: string): Promise<Uint8Array> {
  const first = await api.call('readFile', { roomId, fileId, offset: 0 });
  const out = new Uint8Array(first.size);
  let offset = 0;
  let part = fromBase64(first.data);
  for (;;) {
    out.set(part, offset);
    offset += part.length;
    if (offset >= first.size || part.length === 0) break;
    part = fromBase64((await api.call('readFile', { roomId, fileId, offset })).data);
  }
  return out;
}

/**
 * The image type the bytes really are (PNG, JPEG, GIF, WebP), or null. The sender's MIME type
 * is not trusted: the Blob gets the sniffed type, and anything else is never shown inline.
 */
export function sniffImage(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    [0x57, 0x45, 0x42, 0x50].every((b, i) => bytes[8 + i] === b)
  )
    return 'image/webp';
  return null;
}
