// One test per migration step (schema after each step, STRICT tables), the append-only guard, the
// one-transaction-per-step rule, and the refusal of databases from a newer version.

import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, probeStore, SCHEMA_VERSION, StoreTooNewError } from '../../src-main/store';
import {
  APPLICATION_ID,
  migrate,
  MIGRATIONS,
  userVersion,
  type Migration,
} from '../../src-main/store/migrations';
import { cheapPassphrase, openTestStore, tempDir } from './helpers';

function freshDb(): Database.Database {
  const db = new Database(join(tempDir(), 'm.db'));
  db.pragma('foreign_keys = ON');
  return db;
}

function tables(db: Database.Database): Record<string, string[]> {
  const names = db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
    )
    .pluck()
    .all() as string[];
  return Object.fromEntries(
    names.map((name) => [
      name,
      (db.pragma(`table_info(${name})`) as { name: string }[]).map((c) => c.name),
    ]),
  );
}

function schemaObjects(db: Database.Database, type: 'index' | 'trigger'): string[] {
  return db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`,
    )
    .pluck()
    .all(type) as string[];
}

function nonStrictTables(db: Database.Database): string[] {
  return (db.pragma('table_list') as { name: string; schema: string; strict: number }[])
    .filter((t) => t.schema === 'main' && !t.name.startsWith('sqlite_') && t.strict !== 1)
    .map((t) => t.name);
}

/** Migrates a fresh database to `version`, checking nothing beyond it was applied. */
function migrateTo(version: number): Database.Database {
  const db = freshDb();
  for (let v = 1; v <= version; v++) {
    expect(migrate(db, MIGRATIONS, v)).toEqual([v]);
    expect(userVersion(db)).toBe(v);
  }
  expect(nonStrictTables(db)).toEqual([]);
  return db;
}

const SESSION_COLUMNS_V6 = [
  'room_id',
  'sid',
  'status',
  'kind',
  'parent_sid',
  'reason',
  'members',
  'progress',
  'created_seq',
  'updated_seq',
  'created_at',
  'secret_sealed',
];

/** Every row of a table with its rowid, in rowid order. */
function dump(db: Database.Database, table: string): Record<string, unknown>[] {
  return db.prepare(`SELECT rowid, * FROM ${table} ORDER BY rowid`).all() as Record<
    string,
    unknown
  >[];
}

/**
 * A version-6 profile with a room, sessions of every kind (rowids out of sid order, one current,
 * one dead), their history, a message in one of them, a file on the message and its chunk: every
 * table that hangs off sessions, each of which a cascading DROP would empty.
 */
function seedVersion6(db: Database.Database) {
  db.prepare(
    `INSERT INTO rooms (relay_url, name, nick, created_at) VALUES ('r', 'n', 'a', 0)`,
  ).run();
  const session = db.prepare(
    `INSERT INTO sessions (rowid, room_id, sid, status, kind, parent_sid, reason, members,
                           progress, created_seq, updated_seq, created_at, secret_sealed)
     VALUES (?, 1, ?, ?, ?, ?, 'r', '[{"nick":"a","fingerprint":"f"}]', ?, ?, ?, 5, ?)`,
  );
  session.run(7, 'ab'.repeat(32), 'current', 'join', 'cd'.repeat(32), '{"t":1}', 3, 4, x(1));
  session.run(3, 'cd'.repeat(32), 'dead', 'genesis', null, null, 1, 3, null);
  session.run(9, 'ef'.repeat(32), 'in-limbo', 'rekey', 'ab'.repeat(32), null, 5, 5, x(2));
  const history = db.prepare(
    `INSERT INTO session_history (room_id, sid, status, reason, seq, at) VALUES (1, ?, ?, 'r', ?, 0)`,
  );
  history.run('cd'.repeat(32), 'current', 1);
  history.run('ab'.repeat(32), 'in-limbo', 2);
  history.run('cd'.repeat(32), 'dead', 3);
  history.run('ab'.repeat(32), 'current', 3);
  history.run('ef'.repeat(32), 'in-limbo', null);
  db.prepare(
    `INSERT INTO messages (room_id, epoch, seq, sid, sender_nick, sender_fingerprint, body_sealed,
                           received_at, verification, transcript)
     VALUES (1, 1, 4, ?, 'a', 'f', x'01', 0, 'verified', 'ok')`,
  ).run('ab'.repeat(32));
  db.prepare(
    `INSERT INTO files (room_id, file_id, epoch, seq, sender_nick, size, chunk_bytes, chunk_count,
                        meta_sealed, key_sealed, state, chain, created_at, updated_at)
     VALUES (1, ?, 1, 4, 'a', 3, 3, 1, x'02', x'03', 'receiving', ?, 0, 0)`,
  ).run('0'.repeat(32), Buffer.alloc(32, 1));
  db.prepare(
    `INSERT INTO file_chunks (room_id, file_id, idx, data_sealed) VALUES (1, ?, 0, x'04')`,
  ).run('0'.repeat(32));
  const tablesHanging = ['sessions', 'session_history', 'messages', 'files', 'file_chunks'];
  const rows = Object.fromEntries(tablesHanging.map((t) => [t, dump(db, t)]));
  for (const t of tablesHanging) expect(rows[t]?.length, t).toBeGreaterThan(0);
  return { rows, indexes: schemaObjects(db, 'index') };
}

const x = (n: number) => Buffer.alloc(48, n);

describe('migration steps', () => {
  it('1: keyring and identity', () => {
    const db = migrateTo(1);
    expect(tables(db)).toEqual({
      identity: ['id', 'public_key', 'secret_key_sealed', 'created_at'],
      keyring: ['id', 'protector_kind', 'wrapped_key', 'key_check', 'created_at', 'updated_at'],
    });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
  });

  it('2: rooms and sessions', () => {
    const db = migrateTo(2);
    expect(tables(db)).toMatchObject({
      rooms: [
        'id',
        'relay_url',
        'name',
        'nick',
        'state',
        'epoch',
        'cursor_seq',
        'resume_token_sealed',
        'created_at',
      ],
      sessions: [
        'room_id',
        'sid',
        'status',
        'kind',
        'parent_sid',
        'reason',
        'members',
        'progress',
        'created_seq',
        'updated_seq',
        'created_at',
        'secret_sealed',
      ],
      session_history: ['id', 'room_id', 'sid', 'status', 'reason', 'seq', 'at'],
    });
    expect(Object.keys(tables(db))).toHaveLength(5);
    expect(schemaObjects(db, 'index')).toEqual([
      'session_history_by_session',
      'sessions_one_current',
    ]);
    expect(schemaObjects(db, 'trigger')).toEqual(['sessions_dead_is_final']);

    // The schema itself enforces the session rules.
    const sid = 'ab'.repeat(32);
    db.prepare(
      `INSERT INTO rooms (relay_url, name, nick, created_at) VALUES ('r', 'n', 'a', 0)`,
    ).run();
    const insert = db.prepare(
      `INSERT INTO sessions (room_id, sid, status, kind, reason, members, created_seq,
                             updated_seq, created_at, secret_sealed)
       VALUES (1, ?, ?, 'genesis', 'r', '[]', 1, 1, 0, ?)`,
    );
    expect(() => insert.run(sid, 'dead', Buffer.from('secret'))).toThrow(/CHECK/);
    expect(() => insert.run('AB'.repeat(32), 'current', null)).toThrow(/CHECK/);
    insert.run(sid, 'current', null);
    expect(() => insert.run('cd'.repeat(32), 'current', null)).toThrow(/UNIQUE/);
    db.prepare(`UPDATE sessions SET status = 'dead'`).run();
    expect(() => db.prepare(`UPDATE sessions SET status = 'current'`).run()).toThrow(
      /dead session cannot change status/,
    );
    db.close();
  });

  it('3: messages and known keys', () => {
    const db = migrateTo(3);
    expect(tables(db)).toMatchObject({
      messages: [
        'id',
        'room_id',
        'epoch',
        'seq',
        'sid',
        'sender_nick',
        'sender_fingerprint',
        'body_sealed',
        'sent_at',
        'received_at',
        'verification',
        'transcript',
      ],
      known_keys: [
        'room_id',
        'nick',
        'public_key',
        'fingerprint',
        'first_seen_seq',
        'verified',
        'pending_public_key',
        'pending_fingerprint',
        'pending_seen_seq',
      ],
    });
    expect(Object.keys(tables(db))).toHaveLength(7);
    expect(schemaObjects(db, 'index')).toContain('messages_by_session');
    db.close();
  });

  it('4: engine snapshots and event log', () => {
    const db = migrateTo(4);
    expect(tables(db)).toMatchObject({
      room_snapshots: ['room_id', 'epoch', 'seq', 'snapshot_sealed', 'written_at'],
      event_log: ['id', 'room_id', 'epoch', 'seq', 'type', 'size', 'outcome', 'at'],
    });
    expect(Object.keys(tables(db))).toHaveLength(9);
    expect(schemaObjects(db, 'index')).toContain('event_log_by_room');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });

  it('5: team relays, settings, outbox, notices, muted rooms', () => {
    const db = migrateTo(5);
    expect(tables(db)).toMatchObject({
      relays: ['url', 'token_sealed', 'added_at'],
      settings: ['key', 'value'],
      outbox: ['room_id', 'id', 'body_sealed', 'state', 'error', 'created_at', 'updated_at'],
      room_notices: ['id', 'room_id', 'epoch', 'seq', 'kind', 'nick', 'text', 'at'],
    });
    expect(tables(db)['rooms']).toContain('muted');
    expect(Object.keys(tables(db))).toHaveLength(13);
    expect(schemaObjects(db, 'index')).toContain('room_notices_by_room');
    db.prepare(
      `INSERT INTO rooms (relay_url, name, nick, created_at) VALUES ('r', 'n', 'a', 0)`,
    ).run();
    expect(db.prepare('SELECT muted FROM rooms').pluck().get()).toBe(0);
    expect(() => db.prepare('UPDATE rooms SET muted = 2').run()).toThrow(/CHECK/);
    expect(() =>
      db.prepare(`INSERT INTO settings (key, value) VALUES ('theme', 'not json')`).run(),
    ).toThrow(/CHECK/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO outbox (room_id, id, body_sealed, state, created_at, updated_at)
           VALUES (1, 'x', x'00', 'sent', 0, 0)`,
        )
        .run(),
    ).toThrow(/CHECK/);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });

  it('6: files', () => {
    const db = migrateTo(6);
    expect(tables(db)).toMatchObject({
      files: [
        'room_id',
        'file_id',
        'epoch',
        'seq',
        'sender_nick',
        'size',
        'chunk_bytes',
        'chunk_count',
        'meta_sealed',
        'key_sealed',
        'state',
        'next_chunk',
        'chain',
        'error',
        'created_at',
        'updated_at',
      ],
      file_chunks: ['room_id', 'file_id', 'idx', 'data_sealed'],
    });
    expect(Object.keys(tables(db))).toHaveLength(15);
    expect(schemaObjects(db, 'index')).toContain('files_by_message');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });

  it('7: batch sessions: the sessions table rebuilt, every row of every table kept', () => {
    const db = migrateTo(6);
    const v6 = seedVersion6(db);
    expect(migrate(db)).toEqual([7]);
    expect(userVersion(db)).toBe(7);
    // Foreign keys are back on for the connection after the step.
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(tables(db)['sessions']).toEqual([...SESSION_COLUMNS_V6, 'joiners']);
    expect(Object.keys(tables(db))).toHaveLength(15);
    expect(nonStrictTables(db)).toEqual([]);
    expect(schemaObjects(db, 'index')).toEqual(v6.indexes);
    expect(schemaObjects(db, 'trigger')).toEqual(['sessions_dead_is_final']);
    // Nothing lost, nothing changed, rowids (the store's tie-break order) included.
    for (const [table, rows] of Object.entries(v6.rows)) {
      expect(dump(db, table), table).toEqual(
        table === 'sessions' ? rows.map((r) => ({ ...r, joiners: null })) : rows,
      );
    }
    expect(db.pragma('foreign_key_check')).toEqual([]);

    // A batch session with its joiners; joiners on another kind, or not an array, are refused.
    const insert = db.prepare(
      `INSERT INTO sessions (room_id, sid, status, kind, reason, members, joiners, created_seq,
                             updated_seq, created_at)
       VALUES (1, ?, 'in-limbo', ?, 'r', '[]', ?, 9, 9, 0)`,
    );
    insert.run('ee'.repeat(32), 'batch', '["dan","erin"]');
    expect(() => insert.run('ef'.repeat(32), 'join', '["dan"]')).toThrow(/CHECK/);
    expect(() => insert.run('f0'.repeat(32), 'batch', '{"dan":1}')).toThrow(/CHECK/);
    expect(() => insert.run('f1'.repeat(32), 'merge', null)).toThrow(/CHECK/);
    // The one-current index and the dead-is-final trigger work on the new table.
    expect(() =>
      db.prepare(`UPDATE sessions SET status = 'current' WHERE sid = ?`).run('ee'.repeat(32)),
    ).toThrow(/UNIQUE/);
    expect(() =>
      db.prepare(`UPDATE sessions SET status = 'in-limbo' WHERE sid = ?`).run('cd'.repeat(32)),
    ).toThrow(/dead session cannot change status/);
    // The cascades still reach the children: deleting the room removes its history too.
    db.prepare('DELETE FROM rooms WHERE id = 1').run();
    for (const table of ['sessions', 'session_history', 'messages', 'files', 'file_chunks']) {
      expect(dump(db, table), table).toEqual([]);
    }
    db.close();
  });

  it('7: a step that rebuilds tables leaves the previous version when a foreign key breaks', () => {
    const db = freshDb();
    const steps: Migration[] = [
      {
        version: 1,
        name: 'parent and child',
        sql: `CREATE TABLE p (id INTEGER PRIMARY KEY) STRICT;
              CREATE TABLE c (p INTEGER NOT NULL REFERENCES p (id)) STRICT;
              INSERT INTO p VALUES (1); INSERT INTO c VALUES (1);`,
      },
      { version: 2, name: 'drops the parent', rebuildsTables: true, sql: 'DELETE FROM p;' },
    ];
    expect(() => migrate(db, steps)).toThrow(/broke 1 foreign key/);
    expect(userVersion(db)).toBe(1);
    expect(dump(db, 'p')).toEqual([{ id: 1 }]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('has a test above for every step', () => {
    expect(SCHEMA_VERSION).toBe(7);
  });
});

describe('migration rules', () => {
  // Shipped steps are append-only: editing one changes its hash. Add a new step instead.
  it('never edits a shipped step', () => {
    const hashes = MIGRATIONS.map((m) =>
      createHash('sha256').update(m.sql).digest('hex').slice(0, 16),
    );
    expect(hashes).toEqual([
      '433b6b0c76430c5f',
      '5e6508a467a00ad1',
      '8918b57b70ade29d',
      'bf14e5a95d4ebabd',
      '2c0b10a4597facd5',
      '4d9ca0634ee9b89a',
      '200a9729f283aed4',
    ]);
  });

  it('runs each step in its own transaction: a failing step leaves the previous version', () => {
    const db = freshDb();
    const broken: Migration[] = [
      { version: 1, name: 'good', sql: 'CREATE TABLE a (x INTEGER) STRICT;' },
      { version: 2, name: 'bad', sql: 'CREATE TABLE b (x INTEGER) STRICT; SELECT * FROM nope;' },
    ];
    expect(() => migrate(db, broken)).toThrow(/no such table: nope/);
    expect(userVersion(db)).toBe(1);
    expect(Object.keys(tables(db))).toEqual(['a']);
    db.close();
  });

  it('refuses misnumbered steps', () => {
    const db = freshDb();
    expect(() => migrate(db, [{ version: 2, name: 'gap', sql: '' }])).toThrow(/numbered 2/);
    db.close();
  });

  it('migrates a new database to the latest version on open, and is idempotent', async () => {
    const path = join(tempDir(), 'p.db');
    (await openTestStore(path)).close();
    (await openTestStore(path)).close();
    const db = new Database(path);
    expect(userVersion(db)).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database from a newer version, without changing it', async () => {
    const path = join(tempDir(), 'p.db');
    (await openTestStore(path)).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    const attempt = openStore({ path, protector: cheapPassphrase('test') });
    await expect(attempt).rejects.toBeInstanceOf(StoreTooNewError);
    await expect(attempt).rejects.toMatchObject({
      foundVersion: SCHEMA_VERSION + 1,
      supportedVersion: SCHEMA_VERSION,
    });
    expect(() => probeStore(path)).toThrow(StoreTooNewError);
    const after = new Database(path);
    expect(userVersion(after)).toBe(SCHEMA_VERSION + 1);
    after.close();
  });
});
