// The runtime side of encrypted files (docs/PROTOCOL.md "Files"): one RoomFiles per room runner
// turns the engine's CHAT attachments into store changes (offer, next chunk, failure) within each
// event's transaction, and sends this user's files as an offer followed by paced chunks. The
// format itself (keys, sealing, reassembly rules) is protocol/files.ts.
import type { ClientEvent, FileView } from '../../src-shared/api';
import type { Crypto } from '../protocol/crypto';
import type { AppEvent } from '../protocol/events';
import type { FileChunk, FileOffer } from '../protocol/files';
import {
  acceptChunk,
  decodeAttachment,
  encodeAttachment,
  encryptFile,
  fileIdHex,
  PREVIEW_TYPES,
  startAssembly,
} from '../protocol/files';
import type { FileChange, FileRecord, RoomId, Store } from '../store';

type ChatEvent = Extract<AppEvent, { type: 'message' }>;

/** The engine cannot send now (a departure awaits its re-key); try the same CHAT again later. */
export class SendingBlocked extends Error {
  constructor(readonly reason: string) {
    super(`sending is paused: ${reason}`);
    this.name = 'SendingBlocked';
  }
}

/** How often a transfer retries a CHAT the engine could not send yet. */
const BLOCKED_RETRY_MS = 250;

export interface FileSettings {
  /** Largest file sent or accepted, in bytes. */
  maxFileBytes: number;
  /** Chunks sent per second at most (the relay allows 100 requests/s per connection). */
  chunksPerSecond: number;
  /** Chunks sent ahead of the relay's reflection of our own. */
  window: number;
  /** A receiving file with no new chunk for this long fails as incomplete. */
  stallMs: number;
}

export const DEFAULT_FILE_SETTINGS: FileSettings = {
  maxFileBytes: 25 * 1024 * 1024,
  chunksPerSecond: 80,
  window: 8,
  stallMs: 60_000,
};

/** "25 MB" for the user: decimal-looking, binary underneath, as file managers show it. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

export function fileView(record: FileRecord): FileView {
  return {
    id: record.fileId,
    name: record.name,
    mime: record.mime,
    size: record.size,
    state: record.state,
    done: record.nextChunk,
    total: record.chunkCount,
    error: record.error,
    preview: PREVIEW_TYPES.includes(record.mime),
  };
}

export interface RoomFilesDeps {
  store: Store;
  crypto: Crypto;
  roomId: RoomId;
  /** The API's id of the room, for client events. */
  apiRoomId: string;
  ownNick: () => string;
  epoch: () => number;
  emit: (event: ClientEvent) => void;
  /** Seals and sends one CHAT with this attachment; rejects when the relay refused it. */
  sendChat: (text: string, attachment: Uint8Array) => Promise<void>;
  settings: FileSettings;
  now?: () => number;
}

/** What an event's attachment does, decided before its transaction and applied after it. */
export interface PreparedFile {
  change: FileChange | null;
  /** False for chunks: only an offer is a message in the timeline. */
  keepMessage: boolean;
  /** For the event log: 'accepted' or why the attachment was refused. */
  outcome: string;
  /** Applied once the transaction committed. */
  commit: () => void;
}

interface Receiving {
  offer: FileOffer;
  sender: string;
  seq: number;
  next: number;
  chain: Uint8Array;
}

interface Outgoing {
  id: string;
  chunks: FileChunk[];
  sent: number;
  reflected: number;
  failed: boolean;
  /** Set while the pump waits for reflections. */
  wake: (() => void) | null;
}

export class RoomFiles {
  private readonly receiving = new Map<string, Receiving>();
  private readonly stallTimers = new Map<string, NodeJS.Timeout>();
  private readonly outgoing = new Map<string, Outgoing>();
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly deps: RoomFilesDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** After a restart: files still receiving get their stall timers again. */
  resume(): void {
    for (const record of this.deps.store.getReceivingFiles(this.deps.roomId)) {
      this.armStall(record.fileId);
    }
  }

  /** The file announced by the message at this seq (just committed, or from history). */
  viewAt(seq: number, epoch = this.deps.epoch()): FileView | undefined {
    const record = this.deps.store.getFileAt(this.deps.roomId, epoch, seq);
    return record ? fileView(record) : undefined;
  }

  /** Decides what a CHAT's attachment changes; the runner writes it with the event. */
  prepare(e: ChatEvent, attachment: Uint8Array): PreparedFile {
    const decoded = decodeAttachment(attachment);
    if (!decoded.ok) return this.refused(`file-${decoded.error.code}`);
    const a = decoded.value;
    return a.kind === 'offer' ? this.prepareOffer(e, a) : this.prepareChunk(e, a);
  }

  private refused(outcome: string, keepMessage = false): PreparedFile {
    return { change: null, keepMessage, outcome, commit: () => {} };
  }

  private prepareOffer(e: ChatEvent, offer: FileOffer): PreparedFile {
    const fileId = fileIdHex(offer.id);
    if (this.deps.store.getFile(this.deps.roomId, fileId))
      return this.refused('file-duplicate-offer');
    const limit = this.deps.settings.maxFileBytes;
    const tooLarge =
      offer.size > limit
        ? `${formatSize(offer.size)} is over this client's limit of ${formatSize(limit)}`
        : null;
    const assembly = startAssembly(this.deps.crypto, offer);
    return {
      change: {
        kind: 'offer',
        file: {
          fileId,
          senderNick: e.from,
          name: offer.name,
          mime: offer.mime,
          size: offer.size,
          chunkBytes: offer.chunkBytes,
          chunkCount: offer.chunks,
          hash: offer.hash,
          key: offer.key,
          chain: assembly.chain,
          ...(tooLarge ? { error: tooLarge } : {}),
        },
      },
      keepMessage: true,
      outcome: tooLarge ? 'file-too-large' : 'accepted',
      commit: () => {
        if (tooLarge) return;
        this.receiving.set(fileId, {
          offer,
          sender: e.from,
          seq: e.seq,
          next: 0,
          chain: assembly.chain,
        });
        this.armStall(fileId);
      },
    };
  }

  private prepareChunk(e: ChatEvent, chunk: FileChunk): PreparedFile {
    const fileId = fileIdHex(chunk.id);
    const r = this.receivingFile(fileId);
    // A chunk of a file we never saw announced (sent before we joined) or no longer receive.
    if (!r) return this.refused('file-unknown');
    if (r.sender !== e.from) return this.refused('file-wrong-sender');
    const outcome = acceptChunk(this.deps.crypto, r.offer, { next: r.next, chain: r.chain }, chunk);
    if (!outcome.ok) {
      const error = outcome.error.message;
      return {
        change: { kind: 'fail', fileId, error },
        keepMessage: false,
        outcome: `file-${outcome.error.code}`,
        commit: () => this.failed(fileId, r.seq),
      };
    }
    const { state, complete, plaintext } = outcome;
    return {
      change: {
        kind: 'chunk',
        fileId,
        index: chunk.index,
        data: plaintext,
        next: state.next,
        chain: state.chain,
        complete,
      },
      keepMessage: false,
      outcome: 'accepted',
      commit: () => {
        plaintext.fill(0);
        r.next = state.next;
        r.chain = state.chain;
        if (complete) {
          this.receiving.delete(fileId);
          this.clearStall(fileId);
          r.offer.key.fill(0);
        } else this.armStall(fileId);
        if (e.from === this.deps.ownNick()) this.onReflected(fileId, chunk.index);
        this.emitUpdate(fileId, r.seq);
      },
    };
  }

  /** From memory, or from the store after a restart. */
  private receivingFile(fileId: string): Receiving | null {
    const known = this.receiving.get(fileId);
    if (known) return known;
    const record = this.deps.store.getFile(this.deps.roomId, fileId);
    if (!record || record.state !== 'receiving') return null;
    const key = this.deps.store.getFileKey(this.deps.roomId, fileId);
    if (!key) return null;
    const r: Receiving = {
      offer: {
        v: 1,
        kind: 'offer',
        id: Buffer.from(fileId, 'hex'),
        name: record.name,
        mime: record.mime,
        size: record.size,
        chunkBytes: record.chunkBytes,
        chunks: record.chunkCount,
        hash: record.hash,
        key,
      },
      sender: record.senderNick,
      seq: record.seq,
      next: record.nextChunk,
      chain: record.chain,
    };
    this.receiving.set(fileId, r);
    return r;
  }

  private failed(fileId: string, seq: number): void {
    const r = this.receiving.get(fileId);
    r?.offer.key.fill(0);
    this.receiving.delete(fileId);
    this.clearStall(fileId);
    const out = this.outgoing.get(fileId);
    if (out) out.failed = true;
    this.emitUpdate(fileId, seq);
  }

  private emitUpdate(fileId: string, seq: number): void {
    const record = this.deps.store.getFile(this.deps.roomId, fileId);
    if (!record) return;
    this.deps.emit({
      type: 'file-updated',
      roomId: this.deps.apiRoomId,
      seq,
      file: fileView(record),
    });
  }

  private armStall(fileId: string): void {
    this.clearStall(fileId);
    const timer = setTimeout(() => {
      this.stallTimers.delete(fileId);
      if (this.closed) return;
      const record = this.deps.store.getFile(this.deps.roomId, fileId);
      if (record?.state !== 'receiving') return;
      const seconds = Math.round(this.deps.settings.stallMs / 1000);
      this.deps.store.failFile(
        this.deps.roomId,
        fileId,
        `incomplete: ${record.nextChunk} of ${record.chunkCount} chunks arrived, then nothing for ${seconds} s`,
      );
      this.failed(fileId, record.seq);
    }, this.deps.settings.stallMs);
    timer.unref();
    this.stallTimers.set(fileId, timer);
  }

  private clearStall(fileId: string): void {
    const t = this.stallTimers.get(fileId);
    if (t) clearTimeout(t);
    this.stallTimers.delete(fileId);
  }

  // ---- sending ---------------------------------------------------------------------------------

  /**
   * Encrypts the file under a fresh key, sends the offer (with `text` as its caption), then the
   * chunks, paced below the relay's rate limit and at most `window` ahead of their reflection.
   * Resolves with the file id once the offer is on the relay; the chunks follow.
   */
  async send(
    bytes: Uint8Array,
    meta: { name: string; mime: string },
    text: string,
  ): Promise<string> {
    const file = encryptFile(this.deps.crypto, bytes, meta);
    const id = fileIdHex(file.offer.id);
    const out: Outgoing = {
      id,
      chunks: file.chunks,
      sent: 0,
      reflected: 0,
      failed: false,
      wake: null,
    };
    this.outgoing.set(id, out);
    try {
      await this.sendWhenAllowed(text, encodeAttachment(file.offer));
    } catch (error) {
      this.outgoing.delete(id);
      throw error;
    } finally {
      file.offer.key.fill(0);
    }
    void this.pump(out);
    return id;
  }

  private onReflected(fileId: string, index: number): void {
    const out = this.outgoing.get(fileId);
    if (!out) return;
    out.reflected = Math.max(out.reflected, index + 1);
    if (out.reflected === out.chunks.length) this.outgoing.delete(fileId);
    out.wake?.();
  }

  private async pump(out: Outgoing): Promise<void> {
    const interval = 1000 / this.deps.settings.chunksPerSecond;
    let nextAt = this.now();
    while (!this.closed && !out.failed && out.sent < out.chunks.length) {
      if (out.sent - out.reflected >= this.deps.settings.window) {
        // Wait for our own chunks to come back in order (or a minute, then give up).
        const moved = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), this.deps.settings.stallMs);
          timer.unref();
          out.wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        out.wake = null;
        if (!moved) break;
        continue;
      }
      const wait = nextAt - this.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      nextAt = Math.max(nextAt + interval, this.now());
      const chunk = out.chunks[out.sent] as FileChunk;
      out.sent++;
      try {
        await this.sendWhenAllowed('', encodeAttachment(chunk));
      } catch {
        // A chunk the relay did not take: the receivers would see a gap, so stop here; their
        // copy fails as incomplete (or out of order) and ours with it.
        out.failed = true;
      }
    }
    if (out.failed || out.reflected < out.chunks.length) this.outgoing.delete(out.id);
  }

  /** One CHAT; while the engine has sending blocked, the same one again, up to `stallMs`. */
  private async sendWhenAllowed(text: string, attachment: Uint8Array): Promise<void> {
    const giveUpAt = this.now() + this.deps.settings.stallMs;
    for (;;) {
      try {
        await this.deps.sendChat(text, attachment);
        return;
      } catch (error) {
        if (!(error instanceof SendingBlocked) || this.closed || this.now() > giveUpAt) throw error;
      }
      await new Promise((r) => setTimeout(r, BLOCKED_RETRY_MS));
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.stallTimers.values()) clearTimeout(t);
    this.stallTimers.clear();
    for (const out of this.outgoing.values()) {
      out.failed = true;
      out.wake?.();
    }
    for (const r of this.receiving.values()) r.offer.key.fill(0);
    this.receiving.clear();
  }
}
