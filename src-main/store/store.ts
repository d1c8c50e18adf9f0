// The Store: one open profile database and its storage key. Every method is synchronous (SQLite
// is local and fast) except re-wrapping the key; every failure surfaces as a typed StoreError.
// Secrets come back only from the methods named for them, so records can go to the UI as they are.

import type Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { applyEventChanges, type EventTables } from './apply-event';
import { translateSqliteError } from './checks';
import { StoreMisuseError } from './errors';
import { FileTable } from './files';
import { IdentityTable } from './identity';
import { saveWrappedKey } from './keyring';
import { KnownKeyTable } from './known-keys';
import { MessageTable } from './messages';
import { NoticeTable } from './notices';
import { OutboxTable } from './outbox';
import { RelayTable, SettingsTable } from './profile';
import type { KeyProtector } from './protectors';
import { RoomTable } from './rooms';
import { Sealer } from './sealed';
import { SessionTable } from './sessions';
import { EventLogTable, SnapshotTable } from './snapshots';
import type {
  ApplyResult,
  EventChanges,
  EventLogRecord,
  FileRecord,
  IdentityRecord,
  JsonValue,
  KnownKeyRecord,
  MessagePosition,
  MessageRecord,
  NoticeRecord,
  OutboxRecord,
  OutboxState,
  RelayRecord,
  RoomId,
  RoomRecord,
  RoomState,
  SessionHistoryRecord,
  SessionRecord,
  SnapshotRecord,
} from './types';

export interface StoreSettings {
  readonly path: string;
  readonly now: () => number;
  readonly eventLogLimit: number;
}

export class Store {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #key: Uint8Array;
  readonly #sealer: Sealer;
  readonly #now: () => number;
  readonly #tables: EventTables;
  readonly #identity: IdentityTable;
  readonly #relays: RelayTable;
  readonly #settings: SettingsTable;
  readonly #outbox: OutboxTable;
  readonly #notices: NoticeTable;
  #closed = false;

  /** Use openStore(); the store takes ownership of the key and zeroes it on close. */
  constructor(db: Database.Database, storageKey: Uint8Array, settings: StoreSettings) {
    this.path = settings.path;
    this.#db = db;
    this.#key = storageKey;
    this.#sealer = new Sealer(storageKey);
    this.#now = settings.now;
    this.#identity = new IdentityTable(db, this.#sealer);
    this.#tables = {
      rooms: new RoomTable(db, this.#sealer),
      sessions: new SessionTable(db, this.#sealer),
      messages: new MessageTable(db, this.#sealer),
      knownKeys: new KnownKeyTable(db),
      snapshots: new SnapshotTable(db, this.#sealer),
      eventLog: new EventLogTable(db, settings.eventLogLimit),
      files: new FileTable(db, this.#sealer),
    };
    this.#relays = new RelayTable(db, this.#sealer);
    this.#settings = new SettingsTable(db);
    this.#outbox = new OutboxTable(db, this.#sealer);
    this.#notices = new NoticeTable(db);
  }

  // --- identity -------------------------------------------------------------------------------

  createIdentity(publicKey: Uint8Array, secretKey: Uint8Array): IdentityRecord {
    return this.#write(() => this.#identity.create(publicKey, secretKey, this.#now()));
  }

  getIdentity(): IdentityRecord | null {
    return this.#read(() => this.#identity.get());
  }

  /** Decrypted long-term secret key; zero it (sodium.memzero) when done. */
  getIdentitySecretKey(): Uint8Array | null {
    return this.#read(() => this.#identity.secretKey());
  }

  // --- rooms ----------------------------------------------------------------------------------

  listRooms(): RoomRecord[] {
    return this.#read(() => this.#tables.rooms.list());
  }

  getRoom(roomId: RoomId): RoomRecord | null {
    return this.#read(() => this.#tables.rooms.get(roomId));
  }

  findRoom(relayUrl: string, name: string): RoomRecord | null {
    return this.#read(() => this.#tables.rooms.find(relayUrl, name));
  }

  /**
   * Joining: creates the room (cursor 0) or, if known, sets its nick and marks it joined again.
   */
  upsertRoom(room: { relayUrl: string; name: string; nick: string }): RoomRecord {
    return this.#write(() =>
      this.#tables.rooms.upsert(room.relayUrl, room.name, room.nick, this.#now()),
    );
  }

  setResumeToken(roomId: RoomId, token: string | null): void {
    this.#write(() => this.#tables.rooms.setResumeToken(roomId, token));
  }

  getResumeToken(roomId: RoomId): string | null {
    return this.#read(() => this.#tables.rooms.resumeToken(roomId));
  }

  /**
   * For a fresh join after losing the relay log (GAP_UNAVAILABLE, relay restarted, grace period
   * over): ends the membership (see leaveRoom) but keeps the room 'joined'.
   */
  rejoinRoom(roomId: RoomId, reason: string): RoomRecord {
    return this.#write(() => this.#endMembership(roomId, reason, 'joined'));
  }

  /**
   * The user left. Every live session dies with `reason` (secrets removed), the snapshot and
   * resume token go, and the room starts a new epoch with cursor 0, so that a later join's log
   * (whose seqs may restart at 1) applies. Messages, history and known keys stay.
   */
  leaveRoom(roomId: RoomId, reason: string): RoomRecord {
    return this.#write(() => this.#endMembership(roomId, reason, 'left'));
  }

  /** Forgets the room and everything stored for it. */
  deleteRoom(roomId: RoomId): void {
    this.#write(() => this.#tables.rooms.delete(roomId));
  }

  // --- one relay event --------------------------------------------------------------------------

  /**
   * Applies everything one relay event changed and moves the room's cursor to `seq`, in one
   * transaction. Throws EventAlreadyAppliedError (nothing written) when seq <= the cursor, and
   * StoreConstraintError (nothing written) when any part breaks a schema rule.
   */
  applyEvent(roomId: RoomId, seq: number, changes: EventChanges): ApplyResult {
    return this.#write(() => applyEventChanges(this.#tables, roomId, seq, changes, this.#now()));
  }

  // --- sessions ---------------------------------------------------------------------------------

  listSessions(roomId: RoomId): SessionRecord[] {
    return this.#read(() => this.#tables.sessions.list(roomId));
  }

  /** Decrypted session secret, null once dead; zero it when done. */
  getSessionSecret(roomId: RoomId, sid: string): Uint8Array | null {
    return this.#read(() => this.#tables.sessions.secret(roomId, sid));
  }

  /** Status changes in the order they happened, for the room or one session. */
  getSessionHistory(roomId: RoomId, sid?: string): SessionHistoryRecord[] {
    return this.#read(() => this.#tables.sessions.history(roomId, sid));
  }

  // --- messages, keys, snapshots, log -----------------------------------------------------------

  /** Up to `limit` messages before `before` (default: the newest), oldest first. */
  getMessages(roomId: RoomId, page: { before?: MessagePosition; limit: number }): MessageRecord[] {
    return this.#read(() => this.#tables.messages.page(roomId, page.before, page.limit));
  }

  getKnownKeys(roomId: RoomId): KnownKeyRecord[] {
    return this.#read(() => this.#tables.knownKeys.list(roomId));
  }

  getKnownKey(roomId: RoomId, nick: string): KnownKeyRecord | null {
    return this.#read(() => this.#tables.knownKeys.get(roomId, nick));
  }

  markVerified(roomId: RoomId, nick: string, fingerprint: string): KnownKeyRecord {
    return this.#write(() => this.#tables.knownKeys.markVerified(roomId, nick, fingerprint));
  }

  acceptKeyChange(roomId: RoomId, nick: string, fingerprint: string): KnownKeyRecord {
    return this.#write(() => this.#tables.knownKeys.acceptChange(roomId, nick, fingerprint));
  }

  /** The engine state as of the room's cursor (see EventChanges.snapshot), or null. */
  latestSnapshot(roomId: RoomId): SnapshotRecord | null {
    return this.#read(() => this.#tables.snapshots.latest(roomId));
  }

  /** The room's last `limit` relay events, oldest first. */
  eventLog(roomId: RoomId, limit: number): EventLogRecord[] {
    return this.#read(() => this.#tables.eventLog.tail(roomId, limit));
  }

  // --- relays, settings, outbox, notices -------------------------------------------------------

  listRelays(): RelayRecord[] {
    return this.#read(() => this.#relays.list());
  }

  /** Remembers a relay; `token` undefined keeps the stored token, null removes it. */
  saveRelay(url: string, token?: string | null): void {
    this.#write(() => this.#relays.save(url, token, this.#now()));
  }

  /** The relay's access token, decrypted, or null. */
  getRelayToken(url: string): string | null {
    return this.#read(() => this.#relays.token(url));
  }

  deleteRelay(url: string): boolean {
    return this.#write(() => this.#relays.delete(url));
  }

  getSettings(): Record<string, JsonValue> {
    return this.#read(() => this.#settings.all());
  }

  setSettings(values: Record<string, JsonValue>): void {
    this.#write(() => {
      for (const [key, value] of Object.entries(values)) this.#settings.set(key, value);
    });
  }

  setMuted(roomId: RoomId, muted: boolean): void {
    this.#write(() => this.#tables.rooms.setMuted(roomId, muted));
  }

  addOutbox(roomId: RoomId, id: string, body: string): void {
    this.#write(() => this.#outbox.add(roomId, id, body, this.#now()));
  }

  listOutbox(roomId: RoomId): OutboxRecord[] {
    return this.#read(() => this.#outbox.list(roomId));
  }

  setOutboxState(roomId: RoomId, id: string, state: OutboxState, error: string | null): boolean {
    return this.#write(() => this.#outbox.setState(roomId, id, state, error, this.#now()));
  }

  removeOutbox(roomId: RoomId, id: string): boolean {
    return this.#write(() => this.#outbox.delete(roomId, id));
  }

  /** At start: whatever was in flight when the app stopped is failed, to be retried. */
  failPendingOutbox(reason: string): number {
    return this.#write(() => this.#outbox.failAllSending(reason, this.#now()));
  }

  /** A timeline notice of the room's current epoch. */
  addNotice(roomId: RoomId, notice: Omit<NoticeRecord, 'roomId' | 'epoch'>): void {
    this.#write(() => {
      const room = this.#tables.rooms.require(roomId);
      this.#notices.add(roomId, room.epoch, notice);
    });
  }

  /** The room's last `limit` notices, oldest first. */
  getNotices(roomId: RoomId, limit: number): NoticeRecord[] {
    return this.#read(() => this.#notices.tail(roomId, limit));
  }

  // --- files ----------------------------------------------------------------------------------

  getFile(roomId: RoomId, fileId: string): FileRecord | null {
    return this.#read(() => this.#tables.files.get(roomId, fileId));
  }

  /** The file announced by the message at (epoch, seq), if any. */
  getFileAt(roomId: RoomId, epoch: number, seq: number): FileRecord | null {
    return this.#read(() => this.#tables.files.atMessage(roomId, epoch, seq));
  }

  /** Files whose chunks are still arriving. */
  getReceivingFiles(roomId: RoomId): FileRecord[] {
    return this.#read(() => this.#tables.files.receiving(roomId));
  }

  /** The key of a file still receiving (zero it when done), else null. */
  getFileKey(roomId: RoomId, fileId: string): Uint8Array | null {
    return this.#read(() => this.#tables.files.key(roomId, fileId));
  }

  /** A complete file's bytes; null for a file that is unknown, unfinished or failed. */
  getFileBytes(roomId: RoomId, fileId: string): Uint8Array | null {
    return this.#read(() => this.#tables.files.bytes(roomId, fileId));
  }

  /** Up to `length` bytes of a complete file from `offset`; null unless complete. */
  getFileRange(roomId: RoomId, fileId: string, offset: number, length: number): Uint8Array | null {
    return this.#read(() => this.#tables.files.range(roomId, fileId, offset, length));
  }

  /** Fails a file still receiving, outside any relay event (a stalled transfer). */
  failFile(roomId: RoomId, fileId: string, error: string): void {
    this.#write(() => this.#tables.files.fail(roomId, fileId, error, this.#now()));
  }

  // --- key and lifecycle ------------------------------------------------------------------------

  /** Protects the storage key with another protector (new passphrase or KDF parameters). */
  async rewrapStorageKey(protector: KeyProtector): Promise<void> {
    this.#checkOpen();
    // A copy: close() may zero the store's key while the protector is still working.
    const key = new Uint8Array(this.#key);
    try {
      const wrapped = await protector.wrap(key);
      this.#write(() => saveWrappedKey(this.#db, protector.kind, wrapped, this.#now()));
    } finally {
      sodium.memzero(key);
    }
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Closes the database (checkpointing the WAL) and zeroes the storage key. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.close();
    } finally {
      this.#sealer.destroy();
    }
  }

  #endMembership(roomId: RoomId, reason: string, state: RoomState): RoomRecord {
    const { rooms, sessions, snapshots } = this.#tables;
    rooms.require(roomId);
    sessions.killAll(roomId, reason, this.#now());
    snapshots.delete(roomId);
    rooms.startNewEpoch(roomId, state);
    return rooms.require(roomId);
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreMisuseError('The store is closed.');
  }

  #read<T>(fn: () => T): T {
    this.#checkOpen();
    try {
      return fn();
    } catch (error) {
      throw translateSqliteError(error, this.path);
    }
  }

  /** Runs fn in one immediate transaction: all of its writes land, or none. */
  #write<T>(fn: () => T): T {
    return this.#read(() => this.#db.transaction(fn).immediate());
  }
}
