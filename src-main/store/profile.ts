// relays and settings: the profile's own configuration. A team relay's access token is sealed
// (it lets its holder use the relay); relay URLs and settings are in clear, like room names.

import type Database from 'better-sqlite3';
import { StoreMisuseError } from './errors';
import type { Sealer, SealedSlot } from './sealed';
import type { JsonValue, RelayRecord } from './types';

interface RelayRow {
  url: string;
  has_token: number;
  added_at: number;
}

const tokenSlot = (url: string): SealedSlot => ({
  table: 'relays',
  column: 'token_sealed',
  row: [url],
});

export class RelayTable {
  readonly #sealer: Sealer;
  readonly #list: Database.Statement<[], RelayRow>;
  readonly #insert: Database.Statement<[string, number]>;
  readonly #setToken: Database.Statement<[Uint8Array | null, string]>;
  readonly #getToken: Database.Statement<[string], { token: Uint8Array | null }>;
  readonly #delete: Database.Statement<[string]>;

  constructor(db: Database.Database, sealer: Sealer) {
    this.#sealer = sealer;
    this.#list = db.prepare(
      'SELECT url, token_sealed IS NOT NULL AS has_token, added_at FROM relays ORDER BY added_at, rowid',
    );
    this.#insert = db.prepare(
      'INSERT INTO relays (url, added_at) VALUES (?, ?) ON CONFLICT (url) DO NOTHING',
    );
    this.#setToken = db.prepare('UPDATE relays SET token_sealed = ? WHERE url = ?');
    this.#getToken = db.prepare('SELECT token_sealed AS token FROM relays WHERE url = ?');
    this.#delete = db.prepare('DELETE FROM relays WHERE url = ?');
  }

  list(): RelayRecord[] {
    return this.#list
      .all()
      .map((r) => ({ url: r.url, hasToken: r.has_token === 1, addedAt: r.added_at }));
  }

  /** Remembers the relay; `token` undefined keeps the stored one, null removes it. */
  save(url: string, token: string | null | undefined, now: number): void {
    if (url.length === 0 || url.length > 2048) throw new StoreMisuseError('bad relay URL');
    this.#insert.run(url, now);
    if (token === undefined) return;
    if (token !== null && token.length === 0) throw new StoreMisuseError('empty relay token');
    this.#setToken.run(token === null ? null : this.#sealer.sealText(tokenSlot(url), token), url);
  }

  token(url: string): string | null {
    const row = this.#getToken.get(url);
    return row?.token ? this.#sealer.openText(tokenSlot(url), row.token) : null;
  }

  delete(url: string): boolean {
    return this.#delete.run(url).changes === 1;
  }
}

export class SettingsTable {
  readonly #all: Database.Statement<[], { key: string; value: string }>;
  readonly #set: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    this.#all = db.prepare('SELECT key, value FROM settings ORDER BY key');
    this.#set = db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
  }

  all(): Record<string, JsonValue> {
    return Object.fromEntries(
      this.#all.all().map((r) => [r.key, JSON.parse(r.value) as JsonValue]),
    );
  }

  set(key: string, value: JsonValue): void {
    if (key.length === 0 || key.length > 64) throw new StoreMisuseError('bad settings key');
    this.#set.run(key, JSON.stringify(value));
  }
}
