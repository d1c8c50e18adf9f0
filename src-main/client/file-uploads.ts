// Files handed over by the renderer in parts (the bridge carries JSON, so base64 parts of at
// most FILE_PART_BYTES), held in this process until complete, then given to the room's
// RoomFiles to encrypt and send. The size limit is checked when the upload starts, with a message
// the user can act on, and again on the bytes that actually arrive.
import { randomBytes } from 'node:crypto';
import { FILE_PART_BYTES } from '../../src-shared/api';
import { ApiFailure } from './errors';
import { formatSize } from './files';
import type { RoomRunner } from './room-runner';

interface Upload {
  roomId: string;
  name: string;
  mime: string;
  size: number;
  text: string;
  parts: Buffer[];
  received: number;
  timer: NodeJS.Timeout;
}

/** An upload nobody continues for this long is dropped. */
const IDLE_MS = 5 * 60_000;
/** Uploads open at once per client: enough for a few files dropped together. */
const MAX_UPLOADS = 8;

export function tooLargeMessage(name: string, size: number, limit: number): string {
  return `${name} is ${formatSize(size)}; files are limited to ${formatSize(limit)}`;
}

export class FileUploads {
  private readonly uploads = new Map<string, Upload>();

  constructor(readonly maxFileBytes: number) {}

  start(arg: { roomId: string; name: string; mime: string; size: number; text?: string }): string {
    if (arg.size > this.maxFileBytes) {
      throw new ApiFailure('BAD_ARGUMENT', tooLargeMessage(arg.name, arg.size, this.maxFileBytes));
    }
    if (this.uploads.size >= MAX_UPLOADS) {
      throw new ApiFailure('BAD_ARGUMENT', 'too many files at once; wait for the others to send');
    }
    const id = randomBytes(16).toString('hex');
    this.uploads.set(id, {
      ...arg,
      text: arg.text ?? '',
      parts: [],
      received: 0,
      timer: this.idleTimer(id),
    });
    return id;
  }

  part(uploadId: string, data: string): number {
    const upload = this.get(uploadId);
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > FILE_PART_BYTES) {
      throw new ApiFailure('BAD_ARGUMENT', `a part is at most ${FILE_PART_BYTES} bytes`);
    }
    if (upload.received + bytes.length > upload.size) {
      this.drop(uploadId);
      throw new ApiFailure('BAD_ARGUMENT', `more bytes than the ${upload.size} announced`);
    }
    upload.parts.push(bytes);
    upload.received += bytes.length;
    clearTimeout(upload.timer);
    upload.timer = this.idleTimer(uploadId);
    return upload.received;
  }

  /** The complete upload, removed from the pending ones. */
  take(uploadId: string): Upload & { bytes: Uint8Array } {
    const upload = this.get(uploadId);
    this.drop(uploadId);
    if (upload.received !== upload.size) {
      throw new ApiFailure(
        'BAD_ARGUMENT',
        `${upload.name}: ${upload.received} of ${upload.size} bytes arrived`,
      );
    }
    return { ...upload, bytes: Buffer.concat(upload.parts) };
  }

  async commit(uploadId: string, runner: (roomId: string) => RoomRunner): Promise<string> {
    const upload = this.take(uploadId);
    const room = runner(upload.roomId);
    if (!room.engine.isMember) {
      throw new ApiFailure('NOT_MEMBER', 'you are not a member of the room yet');
    }
    try {
      return await room.files.send(
        upload.bytes,
        { name: upload.name, mime: upload.mime },
        upload.text,
      );
    } catch (error) {
      throw new ApiFailure('RELAY', `could not send ${upload.name}: ${String(error)}`);
    } finally {
      upload.bytes.fill(0);
    }
  }

  private get(uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload) throw new ApiFailure('BAD_ARGUMENT', 'unknown or expired upload');
    return upload;
  }

  private drop(uploadId: string): void {
    const upload = this.uploads.get(uploadId);
    if (upload) clearTimeout(upload.timer);
    this.uploads.delete(uploadId);
  }

  private idleTimer(uploadId: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.drop(uploadId), IDLE_MS);
    timer.unref();
    return timer;
  }

  close(): void {
    for (const id of [...this.uploads.keys()]) this.drop(id);
  }
}
