// Admission policy (docs/PROTOCOL.md "Admission policy"): who may enter a room, decided by
// ordered messages. The policy, the knocks waiting for a member's answer and the announced
// invites are room state that every client (members, and joiners following the room) derives
// alike from the stream; it travels in the state transfer and in snapshots. The contract's
// JOIN_REQUEST rule (every request is queued) becomes the `open` policy; `knock` records a
// request until a member admits or declines it; `invite` accepts only a request that carries a
// valid proof of an announced, unused invite key. It extends five steps of the modules below
// through `EngineOps` (engine.ts wires them): departure, makeCurrent, and the state transfer.
import { isBanned } from './accountability';
import type { AdmissionPolicy, Body, MessageTypeName, ParsedFrame, RefusalReason } from './codec';
import { decodeBody, encodeFrame } from './codec';
import { fingerprint, inviteUse } from './derive';
import type { AdmissionView, EngineInput } from './events';
import { onGenesisConfirmation as foundRoom } from './joining';
import { departure as leaveRoom, makeCurrent as electWinner, reconcile } from './membership';
import {
  exportState as exportRoom,
  importState as importRoom,
  restoreRollback as rollBack,
} from './transfer';
import { cancel, emit, isMember, send, setPhase, warn } from './room-effects';
import type {
  AdmissionState,
  AnnouncedInvite,
  Knock,
  MessageEvent,
  Departure,
  Rollback,
  RoomState,
} from './room-state';
import { defaultAdmission } from './room-state';
import type { Session } from './session';
import type { PublicState } from './state-transfer';
import type { Nick, Seq } from './types';
import { asSeq, bytesEqual } from './types';

export const MAX_KNOCKS = 32;
export const MAX_INVITES = 64;
export const MAX_SPENT_INVITES = 128;

/** The admission message types, all signed in the current session by a member. */
export type AdmissionType = 'POLICY' | 'ADMIT' | 'DECLINE' | 'INVITE' | 'NOTICE';

const REFUSAL_TEXT: Record<RefusalReason | 'declined', string> = {
  'invite-only': 'this room admits by invitation only',
  'invite-unknown': 'this invitation is not valid in this room',
  'invite-used': 'this invitation was already used',
  'invite-expired': 'this invitation has expired',
  'invite-bad-signature': 'this invitation does not match your request',
  'too-many-knocks': 'too many people are waiting to be let in; try again later',
  declined: 'a member declined your request to join',
};

const POLICY_TEXT: Record<AdmissionPolicy, string> = {
  open: 'open (anyone who knows the room gets in)',
  knock: 'knock (a member lets each joiner in)',
  invite: 'invite only',
};

/** The room's admission state as the UI shows it. */
export function admissionView(room: RoomState): AdmissionView {
  const a = room.admission;
  return {
    policy: a.policy,
    knocks: a.knocks.map((k) => ({
      nick: k.nick,
      fingerprint: fingerprint(room.crypto, k.lt),
      seq: asSeq(k.seq),
    })),
    invites: a.invites.filter((i) => !i.usedBy).length,
  };
}

export function isDefaultAdmission(room: RoomState): boolean {
  const a = room.admission;
  return (
    a.policy === 'open' &&
    a.policySeq === 0 &&
    !a.knocks.length &&
    !a.invites.length &&
    !a.spent.length
  );
}

export function emitAdmission(room: RoomState, change: string, seq: number): void {
  emit(room, { type: 'admission', admission: admissionView(room), change, seq: asSeq(seq) });
}

// ---- the founder and the joiner -----------------------------------------------------------------

export function genesisExtras(room: RoomState): { policy?: AdmissionPolicy } {
  const policy = room.config.admission ?? 'knock';
  return policy === 'open' ? {} : { policy };
}

export function requestExtras(
  room: RoomState,
  nick: Nick,
  eph: Uint8Array,
): Partial<Body<'JOIN_REQUEST'>> {
  const seed = room.config.inviteSeed;
  if (!seed) return {};
  room.inviteKeys ??= room.crypto.signKeyPairFromSeed(seed);
  const key = room.inviteKeys.publicKey;
  const message = inviteUse(room.crypto, key, nick, room.identity.publicKey, eph);
  return { invite: { key, sig: room.crypto.sign(message, room.inviteKeys.secretKey) } };
}

export function onGenesisConfirmation(
  room: RoomState,
  frame: ParsedFrame,
  event: MessageEvent,
): string {
  const outcome = foundRoom(room, frame, event);
  if (outcome !== 'accepted' || room.admission.founded) return outcome;
  const body = decodeBody(frame, 'SESSION_CONFIRMATION');
  room.admission.founded = true;
  const policy = (body.ok && body.value.policy) || 'open';
  if (policy !== 'open') {
    room.admission.policy = policy;
    emitAdmission(room, `${event.nick} founded the room: ${POLICY_TEXT[policy]}`, event.seq);
  }
  return outcome;
}

// ---- the gate on JOIN_REQUEST -------------------------------------------------------------------

export function admissionGate(
  room: RoomState,
  req: Body<'JOIN_REQUEST'>,
  event: MessageEvent,
): string | null {
  const a = room.admission;
  if (a.policy === 'open') return null;
  const nick = event.nick;
  if (returningMember(room, nick, req.lt)) return null;
  let refusal: RefusalReason | null = null;
  if (req.invite) {
    const checked = checkInvite(room, req, nick, event.at);
    if (typeof checked !== 'string') {
      const first = checked.usedBy === null;
      checked.usedBy = { nick, lt: req.lt };
      a.knocks = a.knocks.filter((k) => k.nick !== nick);
      if (first) emitAdmission(room, `${nick} used an invite from ${checked.by}`, event.seq);
      return null;
    }
    refusal = checked;
  }
  const existing = a.knocks.find((k) => k.nick === nick);
  if (existing && bytesEqual(existing.lt, req.lt)) {
    existing.eph = req.eph;
    notice(room, nick, req.lt, 'knocking');
    return 'ignored: already knocking (request renewed)';
  }
  if (a.policy === 'invite') {
    const why = refusal ?? 'invite-only';
    notice(room, nick, req.lt, 'refused', why);
    return refusal ?? 'ignored: invitation only (invite-missing)';
  }
  if (existing) a.knocks = a.knocks.filter((k) => k !== existing);
  if (a.knocks.length >= MAX_KNOCKS) {
    notice(room, nick, req.lt, 'refused', 'too-many-knocks');
    return 'ignored: too many knocks';
  }
  a.knocks.push({ nick, lt: req.lt, eph: req.eph, seq: event.seq });
  notice(room, nick, req.lt, 'knocking');
  emitAdmission(room, `${nick} asks to join`, event.seq);
  return 'accepted';
}

/** A participant of C or of the previous current session (back after a disconnection). */
export function returningMember(room: RoomState, nick: Nick, lt: Uint8Array): boolean {
  for (const s of [room.current, room.previousCurrent]) {
    const i = s?.indexByNick.get(nick);
    if (s && i !== undefined && bytesEqual(s.participants[i]!.lt, lt)) return true;
  }
  return false;
}

export function checkInvite(
  room: RoomState,
  req: Body<'JOIN_REQUEST'>,
  nick: Nick,
  at: number,
): AnnouncedInvite | RefusalReason {
  const proof = req.invite!;
  const a = room.admission;
  const inv = a.invites.find((i) => bytesEqual(i.key, proof.key));
  if (!inv) return a.spent.some((k) => bytesEqual(k, proof.key)) ? 'invite-used' : 'invite-unknown';
  if (inv.expires !== null && at > inv.expires) return 'invite-expired';
  const message = inviteUse(room.crypto, proof.key, nick, req.lt, req.eph);
  if (!room.crypto.verify(proof.sig, message, proof.key)) return 'invite-bad-signature';
  if (inv.usedBy && !(inv.usedBy.nick === nick && bytesEqual(inv.usedBy.lt, req.lt))) {
    return 'invite-used';
  }
  return inv;
}

/** The answering member: the lowest-index participant of C that is not leaving. */
export function answerer(room: RoomState): Nick | null {
  return room.current?.participants.find((p) => !room.pendingLeavers.has(p.nick))?.nick ?? null;
}

/** Tell a joiner what became of its request (only the answerer sends; it changes no state). */
export function notice(
  room: RoomState,
  nick: Nick,
  lt: Uint8Array,
  status: 'knocking' | 'refused',
  reason?: RefusalReason,
): void {
  if (answerer(room) !== room.nick) return;
  const body = { nick, lt, status, ...(reason ? { reason } : {}) };
  sendInCurrent(room, 'NOTICE', body);
}

export function sendInCurrent(
  room: RoomState,
  type: MessageTypeName,
  body: Record<string, unknown>,
): boolean {
  const c = room.current;
  const own = c?.own;
  if (!c || !own || !isMember(room)) return false;
  send(
    room,
    encodeFrame(room.crypto, type, c.sidBytes, { index: own.index, ...body }, own.eph.secretKey),
  );
  return true;
}

// ---- the joiner, before it follows the room -----------------------------------------------------

/**
 * NOTICE and DECLINE reach a joiner that cannot verify them yet (it does not know the
 * members' keys): they only change what it shows and whether it keeps asking.
 */
export function onAdmissionDetached(
  room: RoomState,
  frame: ParsedFrame,
  event: MessageEvent,
): string {
  if (frame.type === 'NOTICE') {
    const body = decodeBody(frame, 'NOTICE');
    if (!body.ok || !namesUs(room, body.value)) return 'ignored: not following the room yet';
    if (body.value.status === 'knocking') {
      setPhase(room, 'knocking', 'waiting for a member to let you in');
    } else {
      refuse(room, body.value.reason ?? 'invite-only', event.nick);
    }
    return 'accepted';
  }
  const body = decodeBody(frame, 'DECLINE');
  if (!body.ok || !namesUs(room, body.value)) return 'ignored: not following the room yet';
  refuse(room, 'declined', event.nick);
  return 'accepted';
}

function namesUs(room: RoomState, b: { nick: string; lt: Uint8Array }): boolean {
  return b.nick === room.nick && bytesEqual(b.lt, room.identity.publicKey);
}

function refuse(room: RoomState, reason: RefusalReason | 'declined', by: Nick): void {
  if (room.phase === 'refused') return;
  const message =
    reason === 'declined' ? `${by} declined your request to join` : REFUSAL_TEXT[reason];
  cancel(room, 'join-retry');
  setPhase(room, 'refused', message);
  emit(room, { type: 'refused', reason, by, message });
}

// ---- ordered admission messages (members and observers) -----------------------------------------

/**
 * POLICY, ADMIT, DECLINE, INVITE and NOTICE once their dispatch.ts row's checks passed (the
 * session is known, the sender signed as a participant of it, the body names its index).
 */
export function onAdmissionMessage(
  room: RoomState,
  session: Session,
  type: AdmissionType,
  body: Body<AdmissionType>,
  event: MessageEvent,
): string {
  // Signed in C, or in the previous current session by a member of C (in flight, as LEAVE).
  const c = room.current;
  if (
    !c ||
    (session !== c && !(session === room.previousCurrent && c.indexByNick.has(event.nick)))
  ) {
    return 'not-current-session';
  }
  if (room.pendingLeavers.has(event.nick)) return 'ignored: sender is leaving';
  switch (type) {
    case 'POLICY':
      return onPolicy(room, body as Body<'POLICY'>, event);
    case 'ADMIT':
    case 'DECLINE':
      return onAnswer(room, type, body as Body<'ADMIT'>, event);
    case 'INVITE':
      return onInvite(room, body as Body<'INVITE'>, event);
    case 'NOTICE':
      return 'accepted';
  }
}

export function onPolicy(room: RoomState, b: Body<'POLICY'>, event: MessageEvent): string {
  const a = room.admission;
  if (b.prev !== a.policySeq) return 'stale-policy';
  if (b.policy === a.policy) return 'ignored: policy unchanged';
  a.policy = b.policy;
  a.policySeq = event.seq;
  emitAdmission(room, `${event.nick} set the room to ${POLICY_TEXT[b.policy]}`, event.seq);
  // An open room lets in everyone who was waiting, in the order they knocked.
  if (b.policy === 'open') {
    for (const k of [...a.knocks]) admitKnock(room, k, event, `${event.nick} opened the room`);
  }
  return 'accepted';
}

export function onAnswer(
  room: RoomState,
  type: 'ADMIT' | 'DECLINE',
  b: Body<'ADMIT'>,
  event: MessageEvent,
): string {
  const knock = room.admission.knocks.find(
    (k) => k.nick === b.nick && k.seq === b.knock && bytesEqual(k.lt, b.lt),
  );
  if (!knock) return 'unknown-knock';
  if (type === 'ADMIT') {
    admitKnock(room, knock, event, `${event.nick} admitted ${knock.nick}`);
  } else {
    room.admission.knocks = room.admission.knocks.filter((k) => k !== knock);
    emitAdmission(room, `${event.nick} declined ${knock.nick}`, event.seq);
  }
  return 'accepted';
}

/** A knock becomes a pending joiner at this ordered event; the contract takes over. */
export function admitKnock(
  room: RoomState,
  knock: Knock,
  event: MessageEvent,
  change: string,
): void {
  room.admission.knocks = room.admission.knocks.filter((k) => k !== knock);
  emitAdmission(room, change, event.seq);
  if (isBanned(room, knock.nick, knock.lt)) return;
  if (room.pendingJoiners.some((j) => j.nick === knock.nick)) return;
  room.pendingJoiners.push({ nick: knock.nick, lt: knock.lt, eph: knock.eph, seq: event.seq });
  reconcile(room, event.seq, event.at, { kind: 'created', detail: `join of ${knock.nick}` });
}

export function onInvite(room: RoomState, b: Body<'INVITE'>, event: MessageEvent): string {
  const a = room.admission;
  const known = (k: Uint8Array) => bytesEqual(k, b.key);
  if (a.invites.some((i) => known(i.key)) || a.spent.some(known)) return 'invite-known';
  if (b.expires !== undefined && b.expires <= event.at) return 'invite-expired';
  a.invites = a.invites.filter((i) => i.usedBy || i.expires === null || i.expires > event.at);
  if (a.invites.length >= MAX_INVITES) return 'ignored: too many invites';
  a.invites.push({
    key: b.key,
    by: event.nick,
    seq: event.seq,
    expires: b.expires ?? null,
    usedBy: null,
  });
  emitAdmission(room, `${event.nick} created an invite`, event.seq);
  return 'accepted';
}

// ---- the steps of the other modules it extends (EngineOps) --------------------------------------

/** A knocker that leaves the relay stops asking. */
export function departure(room: RoomState, nick: Nick, how: Departure, seq: Seq, at: number): void {
  const a = room.admission;
  if (how === 'disconnected' && a.knocks.some((k) => k.nick === nick)) {
    a.knocks = a.knocks.filter((k) => k.nick !== nick);
    emitAdmission(room, `${nick} stopped asking`, seq);
  }
  leaveRoom(room, nick, how, seq, at);
}

/** An invite whose user became a member is spent for good. */
export function makeCurrent(room: RoomState, winner: Session, seq: Seq, at: number): void {
  electWinner(room, winner, seq, at);
  if (room.current !== winner) return;
  const a = room.admission;
  const inside = (u: { nick: Nick; lt: Uint8Array }) => {
    const i = winner.indexByNick.get(u.nick);
    return i !== undefined && bytesEqual(winner.participants[i]!.lt, u.lt);
  };
  const spent = a.invites.filter((i) => i.usedBy && inside(i.usedBy));
  if (!spent.length) return;
  a.invites = a.invites.filter((i) => !spent.includes(i));
  a.spent.push(...spent.map((i) => i.key));
  if (a.spent.length > MAX_SPENT_INVITES) a.spent.splice(0, a.spent.length - MAX_SPENT_INVITES);
}

export function exportState(room: RoomState, seq: Seq): PublicState {
  const state = exportRoom(room, seq);
  if (isDefaultAdmission(room)) return state;
  const a = room.admission;
  return {
    ...state,
    admission: {
      policy: a.policy,
      policySeq: a.policySeq,
      knocks: a.knocks.map((k) => ({ ...k })),
      invites: a.invites.map((i) => ({
        key: i.key,
        by: i.by,
        seq: i.seq,
        expires: i.expires,
        usedBy: i.usedBy ? ([i.usedBy.nick, i.usedBy.lt] as [string, Uint8Array]) : null,
      })),
      spent: [...a.spent],
    },
  };
}

export function importState(room: RoomState, state: PublicState): string {
  const outcome = importRoom(room, state);
  if (outcome !== 'accepted') return outcome;
  room.admission = admissionFromWire(state.admission);
  if (!isDefaultAdmission(room)) emitAdmission(room, 'following the room', state.seq);
  return outcome;
}

export function restoreRollback(room: RoomState, saved: Rollback): void {
  rollBack(room, saved);
  room.admission = defaultAdmission();
}

/** The commands of a member: each sends one message, whose ordered arrival decides. */
export function onAdmissionCommand(
  room: RoomState,
  input: Extract<EngineInput, { kind: 'set-policy' | 'admit' | 'decline' | 'announce-invite' }>,
): void {
  const notMember = () =>
    warn(room, 'dropped-invalid-message', `cannot ${input.kind}: not a member`);
  switch (input.kind) {
    case 'set-policy':
      if (!sendInCurrent(room, 'POLICY', { policy: input.policy, prev: room.admission.policySeq }))
        notMember();
      return;
    case 'admit':
    case 'decline': {
      const knock = room.admission.knocks.find(
        (k) => k.nick === input.nick && k.seq === input.knock,
      );
      if (!knock) {
        warn(
          room,
          'dropped-invalid-message',
          `cannot ${input.kind} ${input.nick}: no such request`,
        );
        return;
      }
      const type = input.kind === 'admit' ? 'ADMIT' : 'DECLINE';
      if (!sendInCurrent(room, type, { nick: knock.nick, lt: knock.lt, knock: knock.seq }))
        notMember();
      return;
    }
    case 'announce-invite': {
      const body = {
        key: input.key,
        ...(input.expires === undefined ? {} : { expires: input.expires }),
      };
      if (!sendInCurrent(room, 'INVITE', body)) notMember();
      return;
    }
  }
}

export function admissionSnapshot(room: RoomState): AdmissionSnapshot | undefined {
  if (isDefaultAdmission(room) && !room.admission.founded) return undefined;
  const a = room.admission;
  return {
    policy: a.policy,
    policySeq: a.policySeq,
    founded: a.founded,
    knocks: a.knocks.map((k) => ({ ...k })),
    invites: a.invites.map((i) => ({ ...i, usedBy: i.usedBy ? { ...i.usedBy } : null })),
    spent: [...a.spent],
  };
}

export function restoreAdmission(room: RoomState, x: AdmissionSnapshot | undefined): void {
  if (!x) {
    // A snapshot from before admission: an old room, open, founded if it has a session.
    room.admission = { ...defaultAdmission(), founded: room.current !== null };
    return;
  }
  room.admission = {
    policy: x.policy,
    policySeq: x.policySeq,
    founded: x.founded,
    knocks: x.knocks.map((k) => ({ ...k, nick: k.nick as Nick })),
    invites: x.invites.map((i) => ({
      ...i,
      by: i.by as Nick,
      usedBy: i.usedBy ? { nick: i.usedBy.nick as Nick, lt: i.usedBy.lt } : null,
    })),
    spent: [...x.spent],
  };
}

export function announceAdmission(room: RoomState): void {
  if (!isDefaultAdmission(room)) emitAdmission(room, 'restored', room.lastSeq);
}

export interface AdmissionSnapshot {
  policy: AdmissionPolicy;
  policySeq: number;
  founded: boolean;
  knocks: { nick: string; lt: Uint8Array; eph: Uint8Array; seq: number }[];
  invites: {
    key: Uint8Array;
    by: string;
    seq: number;
    expires: number | null;
    usedBy: { nick: string; lt: Uint8Array } | null;
  }[];
  spent: Uint8Array[];
}

function admissionFromWire(w: PublicState['admission']): AdmissionState {
  if (!w) return { ...defaultAdmission(), founded: true };
  return {
    policy: w.policy,
    policySeq: w.policySeq,
    founded: true,
    knocks: w.knocks.map((k) => ({ ...k, nick: k.nick as Nick })),
    invites: w.invites.map((i) => ({
      key: i.key,
      by: i.by as Nick,
      seq: i.seq,
      expires: i.expires,
      usedBy: i.usedBy ? { nick: i.usedBy[0] as Nick, lt: i.usedBy[1] } : null,
    })),
    spent: [...w.spent],
  };
}
