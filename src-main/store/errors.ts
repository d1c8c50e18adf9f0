// Typed store errors, one class per failure the caller may want to handle, grouped by fault
// (house style rule 5). The store never sees peer input directly (the engine verifies it first), so
// there is no peer fault here:
//   storage      the file or the disk failed, or holds something we did not write: surface it
//                (StoreCorruptError offers a way out through moveAsideCorrupt).
//   credentials  the user or the OS key store gave the wrong secret: ask again.
//   misuse       the caller broke a documented rule: a bug, fix the caller.

export type StoreFault = 'storage' | 'credentials' | 'misuse';

export abstract class StoreError extends Error {
  abstract readonly fault: StoreFault;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file is not a SQLite database or fails its integrity check. Offer moveAsideCorrupt(). */
export class StoreCorruptError extends StoreError {
  readonly fault = 'storage';
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `The message database ${path} is damaged (${detail}). ` +
        'Move it aside with moveAsideCorrupt() and start with a fresh one.',
      options,
    );
  }
}

/** The database was written by a newer Conclave; opening it here could lose data. */
export class StoreTooNewError extends StoreError {
  readonly fault = 'storage';
  constructor(
    readonly path: string,
    readonly foundVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `The message database ${path} has schema version ${foundVersion}, ` +
        `but this build only knows up to ${supportedVersion}. Update Conclave to open it.`,
    );
  }
}

/** Disk full, I/O error, file locked by another process, read-only file and the like. */
export class StoreIoError extends StoreError {
  readonly fault = 'storage';
}

/** One stored value failed authentication or validation: tampering, or a bug that wrote it. */
export class StoreDataError extends StoreError {
  readonly fault = 'storage';
}

/** The storage key could not be recovered, or the recovered key does not fit this database. */
export class WrongKeyError extends StoreError {
  readonly fault = 'credentials';
}

/** The passphrase does not unwrap the storage key. */
export class WrongPassphraseError extends WrongKeyError {
  constructor() {
    super('Wrong passphrase.');
  }
}

/** The OS key store (Electron safeStorage) cannot encrypt right now. */
export class ProtectorUnavailableError extends StoreError {
  readonly fault = 'credentials';
}

/** The database's storage key is wrapped by a different kind of protector than the one given. */
export class ProtectorMismatchError extends StoreError {
  readonly fault = 'misuse';
  constructor(
    readonly storedKind: string,
    readonly givenKind: string,
  ) {
    super(
      `This database's key is protected by "${storedKind}", not "${givenKind}". ` +
        'Use probeStore() to choose the protector.',
    );
  }
}

/** Generic misuse: bad argument, closed store, unknown row. */
export class StoreMisuseError extends StoreError {
  readonly fault = 'misuse';
}

/** applyEvent for a seq at or below the room's cursor: the event was already applied. */
export class EventAlreadyAppliedError extends StoreError {
  readonly fault = 'misuse';
  constructor(
    readonly roomId: number,
    readonly seq: number,
    readonly cursorSeq: number,
  ) {
    super(`Room ${roomId}: event seq ${seq} is not after the cursor (${cursorSeq}); not applied.`);
  }
}

/** A write broke a schema rule (unique, foreign key, check, a dead session revived, ...). */
export class StoreConstraintError extends StoreError {
  readonly fault = 'misuse';
}

/** markVerified / acceptKeyChange named a fingerprint that is no longer the one stored. */
export class KnownKeyMismatchError extends StoreError {
  readonly fault = 'misuse';
}
