// The ordered stream: each event in seq order (never past a gap), the history chain, the
// joiner's buffer, the batch window, and each message through its dispatch.ts row.
import { batchCandidates, batchTrigger, gatherBatch, noteArrival, pruneArrivals } from './batch';
import { MessageType, parseFrame } from './codec';
import { historyNext } from './derive';
import type { Incoming } from './dispatch';
import { dispatchRow } from './dispatch';
import { attachEmpty, sendGenesis, sendJoinRequest } from './joining';
import { formBatch, reconcile } from './membership';
import { releaseGather } from './keying';
import { emit, warn } from './room-effects';
import type { DropReason, MessageEvent, Ordered, RoomState } from './room-state';
import { EMPTY, MAX_BUFFER } from './room-state';

/** Message type names by their code on the wire, for the debug log. */
const TYPE_NAMES = new Map<number, string>(
  Object.entries(MessageType).map(([name, code]) => [code, name]),
);

export function onOrdered(room: RoomState, event: Ordered): void {
  if (event.seq <= room.lastSeq) return; // replayed by the host: already applied
  if (room.mode !== 'idle' && room.lastSeq > 0 && event.seq !== room.lastSeq + 1) {
    // Never process past a gap: the host must resume from lastSeq (its link does).
    warn(
      room,
      'seq-gap',
      `events ${room.lastSeq + 1}..${event.seq - 1} are missing; waiting for the relay to resend them`,
      event.seq,
    );
    return;
  }
  room.lastSeq = event.seq;
  if (room.mode === 'attached') {
    room.history = historyNext(
      room.crypto,
      room.history,
      event.seq,
      event.kind,
      event.nick,
      event.kind === 'message' ? event.data : EMPTY,
    );
  }
  if (room.mode === 'detached' || room.mode === 'idle') {
    if (event.kind !== 'joined' || event.nick !== room.nick) pushBuffer(room, event);
  }
  const arriving = room.arriving.size;
  if (room.mode === 'attached') pruneArrivals(room, event.at);
  // A member's frame closes the batch window (docs/PROTOCOL.md "Batch admission", rule B1):
  // who may join the batch is read before the frame applies, the batch forms after it.
  const trigger = batchTrigger(room, event);
  if (trigger) room.batchOpen = false; // a member spoke: the B1a batch takes no more joiners
  const candidates = trigger ? batchCandidates(room) : null;
  const outcome = applyOrdered(room, event);
  if (candidates) formBatch(room, candidates, event.seq, event.at);
  // Nobody arriving any more: a front session we held goes ahead (rule B1a).
  if (room.mode === 'attached' && arriving > 0 && room.arriving.size === 0) {
    releaseGather(room, event.seq);
  }
  emit(room, {
    type: 'log',
    seq: event.seq,
    eventType: event.kind === 'message' ? typeName(room, event.data) : event.kind,
    size: event.kind === 'message' ? event.data.length : 0,
    outcome,
  });
  if (outcome !== 'accepted') {
    if (event.kind === 'message' && !outcome.startsWith('ignored')) {
      warn(
        room,
        'dropped-invalid-message',
        `seq ${event.seq} from ${event.nick}: ${outcome}`,
        event.seq,
      );
    }
  }
  room.effects.push({ type: 'persist', seq: event.seq });
}

export function typeName(room: RoomState, data: Uint8Array): string {
  return TYPE_NAMES.get(data[1] as number) ?? 'unknown';
}

export function pushBuffer(room: RoomState, event: Ordered): void {
  room.buffer.push(event);
  if (room.buffer.length > MAX_BUFFER) room.buffer.shift();
}

export function applyOrdered(room: RoomState, event: Ordered): string {
  switch (event.kind) {
    case 'joined':
      return onJoined(room, event);
    case 'left':
      room.presence.delete(event.nick);
      if (room.arriving.delete(event.nick) && gatherBatch(room, null)) {
        reconcile(room, event.seq, event.at, {
          kind: 'created',
          detail: `batch join of ${(room.batchJoiners ?? []).join(', ')}`,
        });
      }
      if (room.mode === 'detached') {
        // Someone left: the conversation we saw may have ended with them. Only evidence seen
        // from now on counts, so unanswered requests may found the room (PROTOCOL.md rule 5).
        room.sawConversation = false;
        room.joinRetries = 0;
      }
      if (room.mode !== 'attached') return 'accepted';
      room.ops.departure(room, event.nick, 'disconnected', event.seq, event.at);
      return 'accepted';
    case 'message':
      return onMessage(room, event);
  }
}

export function onJoined(room: RoomState, event: Extract<Ordered, { kind: 'joined' }>): string {
  room.presence.add(event.nick);
  noteArrival(room, event.nick, event.at);
  if (event.nick !== room.nick || room.mode !== 'idle') return 'accepted';
  for (const m of event.membersBefore ?? []) room.presence.add(m);
  const others = (event.membersBefore ?? []).filter((m) => m !== room.nick);
  if (others.length === 0) {
    attachEmpty(room, event.seq);
    sendGenesis(room);
  } else {
    room.mode = 'detached';
    sendJoinRequest(room);
  }
  return 'accepted';
}

/** An ordered message: parsed, then its dispatch.ts row's checks in order, then its handler. */
export function onMessage(room: RoomState, event: MessageEvent): DropReason {
  const parsed = parseFrame(event.data);
  if (!parsed.ok) return parsed.error;
  const row = dispatchRow(parsed.value.type);
  if (row.showsConversation) room.sawConversation = true;
  const incoming: Incoming = { event, frame: parsed.value };
  for (const check of row.checks) {
    const stopped = check.run(room, incoming);
    if (stopped !== undefined) return stopped;
  }
  return row.handle(room, incoming);
}
