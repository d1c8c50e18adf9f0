// Numbered, append-only schema migrations (house style rule 9). The database's PRAGMA user_version
// is the number of the last step applied. Each step runs in its own transaction together with the
// user_version bump, so a crash mid-step leaves the previous version intact.
//
// Never edit or reorder a step that has shipped: add a new one. test/store/migrations.test.ts pins
// a hash of every step's SQL to catch accidental edits.

import type Database from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * The step rebuilds a table that others reference (SQLite's 12-step procedure): the runner
   * turns foreign_keys off around its transaction (the pragma is a no-op inside one), so dropping
   * the old table cascades nothing, and runs foreign_key_check before committing.
   */
  readonly rebuildsTables?: true;
}

// A sid is the hex of a 32-byte hash (PROTOCOL.md section 3).
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keyring and identity',
    sql: `
      -- 'Cncv': marks the file as a Conclave profile (see open.ts).
      PRAGMA application_id = 1131307894;

      -- wrapped_key is the protector's self-describing blob (for passphrases: KDF name,
      -- parameters, salt and nonce in clear, the storage key encrypted). key_check is a constant
      -- sealed under the storage key, so a key that unwraps but is wrong is detected at once.
      CREATE TABLE keyring (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        protector_kind TEXT NOT NULL CHECK (length(protector_kind) > 0),
        wrapped_key BLOB NOT NULL,
        key_check BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        public_key BLOB NOT NULL CHECK (length(public_key) = 32),
        secret_key_sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'rooms and sessions',
    sql: `
      -- epoch counts the relay logs this room has been read from: it moves on when the client
      -- rejoins (the relay may number a new log from 1 again), and cursor_seq restarts at 0.
      CREATE TABLE rooms (
        id INTEGER PRIMARY KEY,
        relay_url TEXT NOT NULL,
        name TEXT NOT NULL,
        nick TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'joined' CHECK (state IN ('joined', 'left')),
        epoch INTEGER NOT NULL DEFAULT 1 CHECK (epoch >= 1),
        cursor_seq INTEGER NOT NULL DEFAULT 0 CHECK (cursor_seq >= 0),
        resume_token_sealed BLOB,
        created_at INTEGER NOT NULL,
        UNIQUE (relay_url, name)
      ) STRICT;

      CREATE TABLE sessions (
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        sid TEXT NOT NULL CHECK (length(sid) = 64 AND sid NOT GLOB '*[^0-9a-f]*'),
        status TEXT NOT NULL CHECK (status IN ('current', 'in-limbo', 'dead')),
        kind TEXT NOT NULL CHECK (kind IN ('genesis', 'join', 'leave', 'rekey')),
        parent_sid TEXT
          CHECK (parent_sid IS NULL OR (length(parent_sid) = 64 AND parent_sid NOT GLOB '*[^0-9a-f]*')),
        reason TEXT NOT NULL,
        members TEXT NOT NULL CHECK (json_valid(members) AND json_type(members) = 'array'),
        progress TEXT CHECK (progress IS NULL OR json_valid(progress)),
        created_seq INTEGER NOT NULL,
        updated_seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        secret_sealed BLOB,
        CHECK (status <> 'dead' OR secret_sealed IS NULL),
        PRIMARY KEY (room_id, sid)
      ) STRICT;

      CREATE UNIQUE INDEX sessions_one_current ON sessions (room_id) WHERE status = 'current';

      CREATE TRIGGER sessions_dead_is_final
      BEFORE UPDATE OF status ON sessions
      WHEN OLD.status = 'dead' AND NEW.status <> 'dead'
      BEGIN
        SELECT RAISE(ABORT, 'a dead session cannot change status');
      END;

      -- seq is the triggering relay event; NULL for changes made outside an event (rejoin).
      CREATE TABLE session_history (
        id INTEGER PRIMARY KEY,
        room_id INTEGER NOT NULL,
        sid TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('current', 'in-limbo', 'dead')),
        reason TEXT NOT NULL,
        seq INTEGER,
        at INTEGER NOT NULL,
        FOREIGN KEY (room_id, sid) REFERENCES sessions (room_id, sid) ON DELETE CASCADE
      ) STRICT;

      CREATE INDEX session_history_by_session ON session_history (room_id, sid, id);
    `,
  },
  {
    version: 3,
    name: 'messages and known keys',
    sql: `
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        room_id INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL CHECK (seq > 0),
        sid TEXT NOT NULL,
        sender_nick TEXT NOT NULL,
        sender_fingerprint TEXT NOT NULL,
        body_sealed BLOB NOT NULL,
        sent_at INTEGER,
        received_at INTEGER NOT NULL,
        verification TEXT NOT NULL CHECK (verification IN ('verified', 'unverified', 'key-changed')),
        transcript TEXT NOT NULL CHECK (transcript IN ('ok', 'mismatch', 'unknown')),
        UNIQUE (room_id, epoch, seq),
        FOREIGN KEY (room_id, sid) REFERENCES sessions (room_id, sid) ON DELETE CASCADE
      ) STRICT;

      CREATE INDEX messages_by_session ON messages (room_id, sid);

      -- Trust on first use, per room: the key first seen for a nick, and a different key seen
      -- later, held as pending until the user accepts or verifies it.
      CREATE TABLE known_keys (
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        nick TEXT NOT NULL,
        public_key BLOB NOT NULL CHECK (length(public_key) = 32),
        fingerprint TEXT NOT NULL,
        first_seen_seq INTEGER NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
        pending_public_key BLOB CHECK (pending_public_key IS NULL OR length(pending_public_key) = 32),
        pending_fingerprint TEXT,
        pending_seen_seq INTEGER,
        CHECK ((pending_public_key IS NULL) = (pending_fingerprint IS NULL)),
        CHECK ((pending_public_key IS NULL) = (pending_seen_seq IS NULL)),
        PRIMARY KEY (room_id, nick)
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'engine snapshots and event log',
    sql: `
      -- Only the latest snapshot per room is kept: it is the engine state as of rooms.cursor_seq.
      CREATE TABLE room_snapshots (
        room_id INTEGER PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        snapshot_sealed BLOB NOT NULL,
        written_at INTEGER NOT NULL
      ) STRICT;

      -- Raw relay events for the debug panel, bounded per room by the store.
      CREATE TABLE event_log (
        id INTEGER PRIMARY KEY,
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        outcome TEXT NOT NULL CHECK (length(outcome) > 0),
        at INTEGER NOT NULL
      ) STRICT;

      CREATE INDEX event_log_by_room ON event_log (room_id, id);
    `,
  },
  {
    version: 5,
    name: 'team relays, settings, outbox, notices, muted rooms',
    sql: `
      -- Relays the user joined through or added in the settings, with a team relay's access token
      -- (sealed: it lets its holder use the relay).
      CREATE TABLE relays (
        url TEXT PRIMARY KEY CHECK (length(url) BETWEEN 1 AND 2048),
        token_sealed BLOB,
        added_at INTEGER NOT NULL
      ) STRICT;

      -- The profile's settings, one JSON value per key; the client validates them.
      CREATE TABLE settings (
        key TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
        value TEXT NOT NULL CHECK (json_valid(value))
      ) STRICT;

      -- Messages typed but not yet ordered by the relay (their reflection has not come back):
      -- kept until it does, so nothing typed is lost across a restart. id is the client's own
      -- random id for the message; the body is sealed.
      CREATE TABLE outbox (
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        id TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
        body_sealed BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('sending', 'failed')),
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (room_id, id)
      ) STRICT;

      -- The timeline's membership lines (joining, joined, left, cannot read) and warnings, kept
      -- across restarts like the messages. No content: nicks and fixed texts.
      CREATE TABLE room_notices (
        id INTEGER PRIMARY KEY,
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 0),
        kind TEXT NOT NULL
          CHECK (kind IN ('joining', 'joined', 'left', 'cannot-read', 'warning')),
        nick TEXT,
        text TEXT NOT NULL,
        at INTEGER NOT NULL
      ) STRICT;

      CREATE INDEX room_notices_by_room ON room_notices (room_id, id);

      ALTER TABLE rooms ADD COLUMN muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1));
    `,
  },
  {
    version: 6,
    name: 'files',
    sql: `
      -- One row per file offer (docs/PROTOCOL.md "Files"), tied to the message that announced it.
      -- meta_sealed holds the name, MIME type and announced hash; key_sealed the file key, kept
      -- only while chunks are still arriving. chain and next_chunk are the reassembly state (a
      -- hash over ciphertext the relay saw, no secret), so a restart carries on where it was.
      CREATE TABLE files (
        room_id INTEGER NOT NULL,
        file_id TEXT NOT NULL CHECK (length(file_id) = 32),
        epoch INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        sender_nick TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        chunk_bytes INTEGER NOT NULL CHECK (chunk_bytes > 0),
        chunk_count INTEGER NOT NULL CHECK (chunk_count >= 1),
        meta_sealed BLOB NOT NULL,
        key_sealed BLOB,
        state TEXT NOT NULL CHECK (state IN ('receiving', 'complete', 'failed')),
        next_chunk INTEGER NOT NULL DEFAULT 0 CHECK (next_chunk >= 0 AND next_chunk <= chunk_count),
        chain BLOB NOT NULL CHECK (length(chain) = 32),
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        CHECK (state = 'receiving' OR key_sealed IS NULL),
        CHECK ((state = 'failed') = (error IS NOT NULL)),
        CHECK (state <> 'complete' OR next_chunk = chunk_count),
        PRIMARY KEY (room_id, file_id),
        FOREIGN KEY (room_id, epoch, seq) REFERENCES messages (room_id, epoch, seq) ON DELETE CASCADE
      ) STRICT;

      CREATE INDEX files_by_message ON files (room_id, epoch, seq);

      -- The file's bytes, one row per chunk, each sealed under the storage key and bound to
      -- (room, file, index). Rows of a failed file are deleted with the failure.
      CREATE TABLE file_chunks (
        room_id INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        idx INTEGER NOT NULL CHECK (idx >= 0),
        data_sealed BLOB NOT NULL,
        PRIMARY KEY (room_id, file_id, idx),
        FOREIGN KEY (room_id, file_id) REFERENCES files (room_id, file_id) ON DELETE CASCADE
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: 'batch sessions',
    rebuildsTables: true,
    sql: `
      -- kind gains 'batch' (issue 13: the room admits every pending joiner in one session), and
      -- a batch keeps the joiners it admits (JSON array of nicks, in the session's order; NULL
      -- for every other kind). A CHECK cannot be altered: the table is rebuilt, rowids kept (the
      -- store orders by them). session_history and messages reference sessions with ON DELETE
      -- CASCADE: this step runs with foreign_keys off, so the DROP below deletes nothing else.
      CREATE TABLE sessions_v7 (
        room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        sid TEXT NOT NULL CHECK (length(sid) = 64 AND sid NOT GLOB '*[^0-9a-f]*'),
        status TEXT NOT NULL CHECK (status IN ('current', 'in-limbo', 'dead')),
        kind TEXT NOT NULL CHECK (kind IN ('genesis', 'join', 'batch', 'leave', 'rekey')),
        parent_sid TEXT
          CHECK (parent_sid IS NULL OR (length(parent_sid) = 64 AND parent_sid NOT GLOB '*[^0-9a-f]*')),
        reason TEXT NOT NULL,
        members TEXT NOT NULL CHECK (json_valid(members) AND json_type(members) = 'array'),
        progress TEXT CHECK (progress IS NULL OR json_valid(progress)),
        created_seq INTEGER NOT NULL,
        updated_seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        secret_sealed BLOB,
        joiners TEXT
          CHECK (joiners IS NULL OR (json_valid(joiners) AND json_type(joiners) = 'array')),
        CHECK (status <> 'dead' OR secret_sealed IS NULL),
        CHECK (joiners IS NULL OR kind = 'batch'),
        PRIMARY KEY (room_id, sid)
      ) STRICT;

      INSERT INTO sessions_v7 (rowid, room_id, sid, status, kind, parent_sid, reason, members,
                               progress, created_seq, updated_seq, created_at, secret_sealed)
      SELECT rowid, room_id, sid, status, kind, parent_sid, reason, members, progress,
             created_seq, updated_seq, created_at, secret_sealed
      FROM sessions;

      DROP TABLE sessions;
      ALTER TABLE sessions_v7 RENAME TO sessions;

      CREATE UNIQUE INDEX sessions_one_current ON sessions (room_id) WHERE status = 'current';

      CREATE TRIGGER sessions_dead_is_final
      BEFORE UPDATE OF status ON sessions
      WHEN OLD.status = 'dead' AND NEW.status <> 'dead'
      BEGIN
        SELECT RAISE(ABORT, 'a dead session cannot change status');
      END;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** PRAGMA application_id of a Conclave profile ('Cncv'), set by step 1. */
export const APPLICATION_ID = 0x436e6376;

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies every step after the database's user_version, up to `target`, one transaction each.
 * Returns the versions applied. The caller has already refused databases newer than the code.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
  target: number = migrations.length,
): number[] {
  migrations.forEach((step, index) => {
    if (step.version !== index + 1) {
      throw new Error(`migration ${step.name} is numbered ${step.version}, expected ${index + 1}`);
    }
  });
  const applied: number[] = [];
  for (const step of migrations.slice(userVersion(db), target)) {
    if (step.rebuildsTables) withoutForeignKeys(db, () => applyStep(db, step));
    else applyStep(db, step);
    applied.push(step.version);
  }
  return applied;
}

/** One step and its user_version bump, in one BEGIN IMMEDIATE transaction. */
function applyStep(db: Database.Database, step: Migration): void {
  db.transaction(() => {
    db.exec(step.sql);
    if (step.rebuildsTables) {
      // What foreign_keys=ON would have refused: any row left pointing at nothing.
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) {
        throw new Error(`migration ${step.name} broke ${broken.length} foreign key(s)`);
      }
    }
    db.pragma(`user_version = ${step.version}`);
  }).immediate();
}

/** Runs `body` with foreign_keys off (outside any transaction), then restores the setting. */
function withoutForeignKeys(db: Database.Database, body: () => void): void {
  const before = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    body();
  } finally {
    db.pragma(`foreign_keys = ${before ? 'ON' : 'OFF'}`);
  }
}
