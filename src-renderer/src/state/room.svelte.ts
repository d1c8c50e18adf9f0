// One room as the UI sees it, fed by the client's events and by calls for what came before.
// Components read the fields and call the methods; they hold no room data of their own.
import type {
  AdmissionPolicy,
  ChatMessage,
  ClientEvent,
  EventLogEntry,
  KnownKey,
  PendingMessage,
  RoomNotice,
  RoomState,
} from '../../../src-shared/api';
import type { Api } from '../lib/api';
import { errorText } from '../lib/api';
import { readFileBytes, tooLargeMessage, uploadFile } from '../lib/files';
import { joinProgress } from '../lib/join-progress';
import { buildTimeline, mergeUnique, messageKey, noticeKey } from '../lib/timeline';

const PAGE = 200;
const MAX_LOG = 1000;

const logKey = (e: EventLogEntry) => `${e.seq}:${e.type}:${e.at}`;

/** A file on its way from this window to the runtime (then the timeline shows its chunks). */
export interface Upload {
  key: number;
  name: string;
  size: number;
  /** 0..1 of the bytes handed to the runtime. */
  progress: number;
  error: string | null;
}

let uploadKeys = 0;

export class RoomModel {
  state = $state.raw<RoomState | null>(null);
  messages = $state.raw<ChatMessage[]>([]);
  notices = $state.raw<RoomNotice[]>([]);
  log = $state.raw<EventLogEntry[]>([]);
  keys = $state.raw<KnownKey[]>([]);
  /** Typed but not yet ordered by the relay: sending, or failed with Retry. */
  pending = $state.raw<PendingMessage[]>([]);
  loadError = $state<string | null>(null);
  hasEarlier = $state(false);
  uploads = $state.raw<Upload[]>([]);
  /** The runtime's file size limit (bytes), once known. */
  fileLimit = $state<number | null>(null);
  /** Set once the room is gone from the runtime (we left it). */
  closed = $state(false);

  timeline = $derived(
    buildTimeline(this.messages, this.notices, this.keys, this.pending, this.state?.nick ?? null),
  );
  joining = $derived(this.state ? joinProgress(this.state) : null);

  private keysTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly id: string,
    private readonly api: Api,
  ) {}

  async load(): Promise<void> {
    try {
      const [state, history, notices, log, keys, fileLimit, pending] = await Promise.all([
        this.api.call('roomState', { roomId: this.id }),
        this.api.call('history', { roomId: this.id, limit: PAGE }),
        this.api.call('notices', { roomId: this.id }),
        this.api.call('eventLog', { roomId: this.id, limit: MAX_LOG }),
        this.api.call('knownKeys', { roomId: this.id }),
        this.api.call('fileLimit', null),
        this.api.call('outbox', { roomId: this.id }),
      ]);
      this.fileLimit = fileLimit;
      this.state = state;
      this.pending = pending;
      // Events may have arrived while loading: keep them, add what the calls returned.
      this.messages = mergeUnique(history, this.messages, messageKey);
      this.notices = mergeUnique(notices, this.notices, noticeKey);
      this.log = mergeUnique(log, this.log, logKey).slice(-MAX_LOG);
      this.keys = keys;
      this.hasEarlier = history.length >= PAGE;
      this.loadError = null;
    } catch (error) {
      this.loadError = errorText(error);
    }
  }

  async loadEarlier(): Promise<void> {
    const oldest = this.messages.reduce((min, m) => Math.min(min, m.seq), Infinity);
    if (!Number.isFinite(oldest)) return;
    const page = await this.api.call('history', {
      roomId: this.id,
      beforeSeq: oldest,
      limit: PAGE,
    });
    this.messages = mergeUnique(page, this.messages, messageKey);
    this.hasEarlier = page.length >= PAGE;
  }

  apply(event: ClientEvent): void {
    switch (event.type) {
      case 'room-updated':
        this.state = event.state;
        this.scheduleKeyRefresh();
        break;
      case 'message':
        this.messages = mergeUnique(this.messages, [event.message], messageKey);
        break;
      case 'notice':
        this.notices = mergeUnique(this.notices, [event.notice], noticeKey);
        if (event.notice.kind === 'warning') this.scheduleKeyRefresh();
        break;
      case 'log':
        this.log = [...this.log.slice(-(MAX_LOG - 1)), event.entry];
        break;
      case 'file-updated': {
        const { seq, file } = event;
        this.messages = this.messages.map((m) =>
          m.seq === seq && m.file?.id === file.id ? { ...m, file } : m,
        );
        break;
      }
      case 'outbox':
        this.pending = event.pending;
        break;
      case 'rooms-changed':
      case 'settings':
      case 'invite':
        break;
    }
  }

  /** Known keys change with membership; fetch them once things settle. */
  private scheduleKeyRefresh(): void {
    if (this.keysTimer) return;
    this.keysTimer = setTimeout(() => {
      this.keysTimer = null;
      void this.refreshKeys();
    }, 150);
  }

  async refreshKeys(): Promise<void> {
    if (this.closed) return;
    try {
      this.keys = await this.api.call('knownKeys', { roomId: this.id });
    } catch {
      // The next membership change refreshes again; the marks stay as they were.
    }
  }

  async refreshState(): Promise<void> {
    if (this.closed) return;
    try {
      this.state = await this.api.call('roomState', { roomId: this.id });
    } catch {
      // The runtime pushes a fresh state with the next event anyway.
    }
  }

  async send(text: string): Promise<void> {
    const pending = await this.api.call('sendMessage', { roomId: this.id, text });
    // The outbox event may have come first; either way the list holds it once.
    this.pending = mergeUnique(this.pending, [pending], (p) => p.id).map((p) =>
      p.id === pending.id && pending.state === 'failed' ? pending : p,
    );
  }

  /** Admission (docs/PROTOCOL.md "Admission policy"): decided when the relay orders it. */
  async setAdmission(policy: AdmissionPolicy): Promise<void> {
    await this.api.call('setAdmission', { roomId: this.id, policy });
  }

  async answerKnock(nick: string, seq: number, admit: boolean): Promise<void> {
    await this.api.call('answerKnock', { roomId: this.id, nick, seq, admit });
  }

  async retry(id: string): Promise<void> {
    await this.api.call('retryMessage', { roomId: this.id, id });
  }

  async discard(id: string): Promise<void> {
    await this.api.call('discardMessage', { roomId: this.id, id });
  }

  createInvite(): Promise<{ link: string; text: string; hasToken: boolean; oneTime: boolean }> {
    return this.api.call('createInvite', { roomId: this.id });
  }

  /**
   * Sends each file: refused here at once when over the limit (the runtime checks again), else
   * handed over with progress; the timeline then shows its chunks going out.
   */
  async sendFiles(files: readonly File[]): Promise<void> {
    await Promise.all(files.map((file) => this.sendFile(file)));
  }

  private async sendFile(file: File): Promise<void> {
    const upload: Upload = {
      key: ++uploadKeys,
      name: file.name || 'pasted-file',
      size: file.size,
      progress: 0,
      error: null,
    };
    const update = (change: Partial<Upload>) => {
      this.uploads = this.uploads.map((u) => (u.key === upload.key ? { ...u, ...change } : u));
    };
    this.uploads = [...this.uploads, upload];
    const limit = this.fileLimit;
    if (limit !== null && file.size > limit) {
      update({ error: tooLargeMessage(upload.name, file.size, limit) });
      return;
    }
    try {
      await uploadFile(this.api, this.id, file, (progress) => update({ progress }));
      this.uploads = this.uploads.filter((u) => u.key !== upload.key);
    } catch (error) {
      update({ error: errorText(error) });
    }
  }

  dismissUpload(key: number): void {
    this.uploads = this.uploads.filter((u) => u.key !== key);
  }

  readFile(fileId: string): Promise<Uint8Array> {
    return readFileBytes(this.api, this.id, fileId);
  }

  safetyNumber(nick: string): Promise<string> {
    return this.api.call('safetyNumber', { roomId: this.id, nick });
  }

  async markVerified(nick: string): Promise<void> {
    await this.api.call('markVerified', { roomId: this.id, nick });
    await Promise.all([this.refreshKeys(), this.refreshState()]);
  }

  async acceptKeyChange(nick: string): Promise<void> {
    await this.api.call('acceptKeyChange', { roomId: this.id, nick });
    await Promise.all([this.refreshKeys(), this.refreshState()]);
  }

  exportDebug(): Promise<string> {
    return this.api.call('exportDebug', { roomId: this.id });
  }

  dispose(): void {
    this.closed = true;
    if (this.keysTimer) clearTimeout(this.keysTimer);
    this.keysTimer = null;
  }
}
