// The state transfer (docs/PROTOCOL.md "Joiners follow the room"): the public room state a
// sponsor sends with its contribution, and a detached joiner building the room from it.
import type { ParsedFrame } from './codec';
import { decodeBody, verifyFrame } from './codec';
import { reconcile } from './membership';
import { limboOnCurrent, setPhase } from './room-effects';
import type { Ordered, Rollback, RoomState } from './room-state';
import { Session } from './session';
import type { PublicState } from './state-transfer';
import { decodePublicState } from './state-transfer';
import type { Nick, Participant, Seq } from './types';
import { asSeq, asSid, fromHex, toHex } from './types';

/** The sponsor's state transfer turns a detached joiner into an observer of the room. */
export function tryAttach(
  room: RoomState,
  frame: ParsedFrame,
  event: Extract<Ordered, { kind: 'message' }>,
): string {
  const body = decodeBody(frame, 'PARTICIPANTS_INFO');
  if (!body.ok) return body.error;
  if (!body.value.state) return 'ignored: not following the room yet';
  const state = decodePublicState(body.value.state);
  if (!state.ok) return `state-${state.error}`;
  const firstBuffered = room.buffer[0]?.seq ?? event.seq;
  if (state.value.seq + 1 < firstBuffered) return 'state-older-than-buffer';
  const pj = state.value.pendingJoiners.find((j) => j.nick === room.nick);
  if (!pj || !room.joinAttempts.has(toHex(pj.eph))) return 'ignored: transfer for someone else';
  // Build the room as of state.seq, check the frame against it, then replay what followed.
  const snapshot = snapshotForRollback(room);
  const imported = room.ops.importState(room, state.value);
  if (imported !== 'accepted') {
    room.ops.restoreRollback(room, snapshot);
    return imported;
  }
  const sid = asSid(toHex(frame.sid!));
  const session = room.sessions.get(sid);
  const sender = session?.indexByNick.get(event.nick);
  if (!session || sender === undefined || !session.isJoiner(room.nick)) {
    room.ops.restoreRollback(room, snapshot);
    return 'state-transfer-mismatch';
  }
  if (!verifyFrame(room.crypto, frame, (session.participants[sender] as Participant).eph)) {
    room.ops.restoreRollback(room, snapshot);
    return 'bad-signature';
  }
  const replay = room.buffer.filter((e) => e.seq > state.value.seq);
  room.buffer = [];
  room.lastSeq = state.value.seq;
  for (const e of replay) room.ops.onOrdered(room, e);
  return 'accepted';
}

/** What a failed state transfer rolls back to. */
export function snapshotForRollback(room: RoomState): Rollback {
  return { mode: room.mode, lastSeq: room.lastSeq, effects: room.effects.length };
}

/** Forget the room a failed state transfer began to build: back to following nothing. */
export function restoreRollback(room: RoomState, saved: Rollback): void {
  room.effects.length = saved.effects;
  room.mode = saved.mode;
  room.lastSeq = saved.lastSeq;
  room.sessions.clear();
  room.current = null;
  room.previousCurrent = null;
  room.pendingJoiners = [];
  room.pendingLeavers.clear();
  room.accusations.clear();
  room.rekeyRequested = false;
  room.banned = [];
  room.batchJoiners = null;
  room.batchOpen = false;
  room.unbatchable.clear();
  room.arriving.clear();
}

export function importState(room: RoomState, state: PublicState): string {
  const participants = state.current.participants.map((p) => ({ ...p, nick: p.nick as Nick }));
  if (state.current.next.length !== participants.length) return 'state-bad-next-keys';
  const sidBytes = state.current.sid;
  const seq = asSeq(state.seq);
  const c = new Session(
    asSid(toHex(sidBytes)),
    sidBytes,
    state.current.parent ? asSid(toHex(state.current.parent)) : null,
    state.current.kind,
    participants,
    null,
    seq,
    0,
  );
  c.status = 'current';
  c.record('current', { kind: 'obsolete', detail: 'current when this client arrived' }, seq, 0);
  state.current.next.forEach((n, i) => (c.confirmed[i] = n));
  room.mode = 'attached';
  room.sessions.set(c.sid, c);
  room.current = c;
  room.pendingJoiners = state.pendingJoiners.map((j) => ({ ...j, nick: j.nick as Nick }));
  room.pendingLeavers = new Set(state.pendingLeavers as Nick[]);
  room.accusations = new Map(
    state.accusations.map(([who, by]) => [who as Nick, new Set(by as Nick[])]),
  );
  room.rekeyRequested = state.rekey;
  room.banned = (state.banned ?? []).map(([nick, lt]) => ({ nick: nick as Nick, lt }));
  room.batchJoiners = state.batch ? (state.batch as Nick[]) : null;
  room.unbatchable = new Set((state.unbatchable ?? []) as Nick[]);
  room.arriving = new Map((state.arriving ?? []).map(([n, at]) => [n as Nick, at]));
  room.batchOpen = state.batchOpen ?? false;
  if (state.previous) {
    // Kept only to verify a LEAVE still in flight under it; we never held its keys.
    const p = state.previous;
    const prev = new Session(
      asSid(toHex(p.sid)),
      p.sid,
      null,
      p.kind,
      p.participants.map((x) => ({ ...x, nick: x.nick as Nick })),
      null,
      seq,
      0,
    );
    prev.status = 'dead';
    prev.record(
      'dead',
      { kind: 'obsolete', detail: 'superseded before this client arrived' },
      seq,
      0,
    );
    room.sessions.set(prev.sid, prev);
    room.previousCurrent = prev;
  }
  reconcile(room, seq, 0, { kind: 'created', detail: 'in limbo when this client arrived' });
  for (const l of state.limbo) {
    const s = room.sessions.get(asSid(toHex(l.sid)));
    if (!s) return 'state-limbo-mismatch';
    for (const [i, next] of l.confirmed) if (i < s.confirmed.length) s.confirmed[i] = next;
    for (const [i, z] of l.shares) if (i < s.shares.length && !s.own) s.shares[i] = z;
    if (l.kcs && !s.own) s.joinerKcs = l.kcs;
    for (const [i, kcs] of l.bkcs ?? []) if (!s.own) s.batchKcs.set(i, kcs);
    for (const [i, kcs] of l.bmkcs ?? []) s.batchMkcs.set(i, kcs);
    for (const [i, k] of l.mkcs ?? []) if (i < s.memberKcs.length) s.memberKcs[i] = k;
  }
  setPhase(room, 'waiting-for-members', 'following the room');
  return 'accepted';
}

export function exportState(room: RoomState, seq: Seq): PublicState {
  const c = room.current as Session;
  return {
    seq,
    current: {
      sid: c.sidBytes,
      kind: c.kind,
      parent: c.parent ? fromHex(c.parent) : null,
      participants: c.participants.map((p) => ({ nick: p.nick, lt: p.lt, eph: p.eph })),
      next: c.confirmed.map((n) => n as Uint8Array),
    },
    previous: room.previousCurrent
      ? {
          sid: room.previousCurrent.sidBytes,
          kind: room.previousCurrent.kind,
          participants: room.previousCurrent.participants.map((p) => ({
            nick: p.nick,
            lt: p.lt,
            eph: p.eph,
          })),
        }
      : null,
    pendingJoiners: room.pendingJoiners.map((j) => ({ ...j })),
    pendingLeavers: [...room.pendingLeavers],
    accusations: [...room.accusations].map(([who, by]) => [who, [...by]] as [string, string[]]),
    rekey: room.rekeyRequested,
    ...(room.banned.length
      ? { banned: room.banned.map((b) => [b.nick, b.lt] as [string, Uint8Array]) }
      : {}),
    ...(room.batchJoiners ? { batch: [...room.batchJoiners] } : {}),
    ...(room.unbatchable.size ? { unbatchable: [...room.unbatchable] } : {}),
    ...(room.arriving.size ? { arriving: [...room.arriving] } : {}),
    ...(room.batchOpen ? { batchOpen: true } : {}),
    limbo: limboOnCurrent(room).map((s) => ({
      sid: s.sidBytes,
      confirmed: s.confirmed.flatMap((n, i) => (n ? [[i, n] as [number, Uint8Array]] : [])),
      shares: s.shares.flatMap((z, i) => (z ? [[i, z] as [number, Uint8Array]] : [])),
      ...(s.joinerKcs ? { kcs: [...s.joinerKcs] } : {}),
      ...(s.kind === 'batch'
        ? {
            bkcs: [...s.batchKcs].map(([i, k]) => [i, [...k]] as [number, (Uint8Array | null)[]]),
            bmkcs: [...s.batchMkcs].map(([i, k]) => [i, [...k]] as [number, (Uint8Array | null)[]]),
          }
        : {}),
      mkcs: s.memberKcs.flatMap((k, i) => (k ? [[i, k] as [number, Uint8Array]] : [])),
      createdSeq: s.createdSeq,
    })),
  };
}
