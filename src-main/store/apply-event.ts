// Everything one relay event changed, written in one transaction that also moves the room's cursor
// to the event's seq. Either all of it is on disk or none of it: a process killed at any instant
// restarts from the cursor, and an event at or below the cursor is refused, so nothing is applied
// twice.

import { checkSeq } from './checks';
import { EventAlreadyAppliedError } from './errors';
import type { FileTable } from './files';
import type { KnownKeyTable } from './known-keys';
import type { MessageTable } from './messages';
import type { RoomTable } from './rooms';
import type { SessionTable } from './sessions';
import type { EventLogTable, SnapshotTable } from './snapshots';
import type { ApplyResult, EventChanges, RoomId, SessionUpsert } from './types';

export interface EventTables {
  readonly rooms: RoomTable;
  readonly sessions: SessionTable;
  readonly messages: MessageTable;
  readonly knownKeys: KnownKeyTable;
  readonly snapshots: SnapshotTable;
  readonly eventLog: EventLogTable;
  readonly files: FileTable;
}

/**
 * Writes the batch; the caller runs this inside one immediate transaction. A room has at most one
 * current session, so sessions leaving 'current' are written before the one entering it, whatever
 * order the engine listed them in.
 */
export function applyEventChanges(
  tables: EventTables,
  roomId: RoomId,
  seq: number,
  changes: EventChanges,
  at: number,
): ApplyResult {
  checkSeq(seq);
  const room = tables.rooms.require(roomId);
  if (seq <= room.cursorSeq) throw new EventAlreadyAppliedError(roomId, seq, room.cursorSeq);

  for (const session of currentLast(changes.sessions ?? [])) {
    tables.sessions.upsert(roomId, seq, session, at);
  }
  for (const change of changes.history ?? []) {
    tables.sessions.addHistory(roomId, seq, change, at);
  }
  const keySightings = (changes.keySightings ?? []).map((sighting) => ({
    nick: sighting.nick,
    outcome: tables.knownKeys.sight(roomId, seq, sighting),
  }));
  if (changes.message) {
    tables.messages.insert(roomId, room.epoch, seq, changes.message, at);
  }
  if (changes.file) {
    tables.files.apply(roomId, room.epoch, seq, changes.file, at);
  }
  if (changes.snapshot) {
    tables.snapshots.put(roomId, room.epoch, seq, changes.snapshot, at);
  }
  tables.eventLog.add(roomId, room.epoch, seq, changes.log, at);
  tables.rooms.setCursor(roomId, seq);
  return { cursorSeq: seq, keySightings };
}

function currentLast(sessions: readonly SessionUpsert[]): SessionUpsert[] {
  return [
    ...sessions.filter((s) => s.status !== 'current'),
    ...sessions.filter((s) => s.status === 'current'),
  ];
}
