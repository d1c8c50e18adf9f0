// The one dispatch table for ordered messages (docs/ARCHITECTURE.md "The tables"): for each
// message type, which session it must belong to, who may send it, the checks it passes in
// order (each with the drop reason it returns), and the engine's handler. `onMessage`
// (ordered.ts) parses the frame, then runs its row's checks and handler; nothing else decides
// where a message goes. A check returns undefined to let the frame on, or what `onMessage`
// returns: its drop reason, or (a diversion) the outcome of another handler.
import type { Body, MessageTypeName, ParsedFrame, VerifiedFrame } from './codec';
import { decodeBody, verifyFrame } from './codec';
import { onReveal } from './accountability';
import type { AdmissionType } from './admission';
import { onAdmissionDetached, onAdmissionMessage, onGenesisConfirmation } from './admission';
import { onChat } from './chat';
import { onTimeout } from './eviction';
import { onJoinRequest } from './joining';
import { onConfirmation, onContribution, onJoinerAuth } from './keying';
import { onLeave, onRekey } from './membership';
import type { DropReason, MessageEvent, RoomState } from './room-state';
import { tryAttach } from './transfer';
import type { Session } from './session';
import type { Nick, Participant, Sid } from './types';
import { asSid, toHex } from './types';

/**
 * The session a frame's sid must name. The checks establish that it is known and not dead (a
 * LEAVE in flight excepted); the handler then refuses a session in the wrong state, with
 * 'ignored: not in limbo' or 'not-current-session'.
 */
export type SessionRule =
  /** No sid: a join request is addressed to the room. */
  | 'none'
  /** The failed session of the open blame round, or the current one (`onReveal` decides). */
  | 'blame-round'
  /** A session being built; a SESSION_CONFIRMATION of an unknown sid may found a room. */
  | 'in-limbo'
  /** The current session; a TIMEOUT that is a joiner's complaint comes in its join session. */
  | 'current'
  /** The current session, or the previous current one (dead or draining) for a LEAVE in flight. */
  | 'current-or-previous'
  /** The current session, or the one draining after it (late chat). */
  | 'current-or-draining';

/**
 * Who may send it. The checks establish that the sender is a participant of the session and
 * signed with its ephemeral key there; 'member' and 'joiner' are the handler's
 * 'wrong-message-for-session', 'named-in-body' the handler's 'sender-mismatch'.
 */
export type SenderRule =
  /** The body names the sender and the key it signed with (JOIN_REQUEST). */
  | 'named-in-body'
  /** Any participant of the session. */
  | 'participant'
  /** A participant other than the session's joiner. */
  | 'member'
  /** The session's joiner, and nobody else. */
  | 'joiner'
  /** A participant the blame round is waiting for (`onReveal`). */
  | 'needed-by-round';

/** A parsed frame on its way through its row's checks; each fills in what it established. */
export interface Incoming {
  readonly event: MessageEvent;
  readonly frame: ParsedFrame;
  session?: Session;
  index?: number;
  verified?: VerifiedFrame;
  body?: unknown;
}

/** What a session row's handler gets: everything its checks established. */
export interface Checked<T extends MessageTypeName> extends Incoming {
  readonly session: Session;
  readonly index: number;
  readonly verified: VerifiedFrame;
  readonly body: Body<T>;
}

export interface Check {
  /** Its name, for the docs and the tests. */
  readonly name: string;
  /** What `onMessage` returns when this check stops the frame. */
  readonly fails: string;
  readonly run: (room: RoomState, m: Incoming) => DropReason | undefined;
}

/** A check that drops the frame with `drop` unless `holds`. */
function check(
  name: string,
  drop: DropReason,
  holds: (room: RoomState, m: Incoming) => boolean,
): Check {
  return { name, fails: drop, run: (room, m) => (holds(room, m) ? undefined : drop) };
}

/** Whether this client follows the room (a joiner before its state transfer does not). */
const attached = (room: RoomState): boolean => room.mode === 'attached';

const sidOf = (m: Incoming): Sid => asSid(toHex(m.frame.sid as Uint8Array));

/** The sender's entry in a session, if it is a participant (also `RoomEngine.signerFor`). */
export function participantIn(session: Session, nick: Nick): Participant | undefined {
  const index = session.indexByNick.get(nick);
  return index === undefined ? undefined : (session.participants[index] as Participant);
}

/** An unknown sid: the confirmation founds a one-person room (`onGenesisConfirmation`). */
export const FOUNDING: Check = {
  name: 'founds-a-room',
  fails: 'the outcome of onGenesisConfirmation',
  run: (room, m) =>
    room.sessions.get(sidOf(m)) ? undefined : onGenesisConfirmation(room, m.frame, m.event),
};

export const ATTACHED = check('following-the-room', 'ignored: not following the room yet', (room) =>
  attached(room),
);

/** Before it follows the room, a joiner looks for its state transfer (`tryAttach`). */
export const ATTACHED_OR_TRANSFER: Check = {
  name: 'following-the-room-or-state-transfer',
  fails: 'the outcome of tryAttach',
  run: (room, m) => (attached(room) ? undefined : tryAttach(room, m.frame, m.event)),
};

export const SESSION_KNOWN = check('session-known', 'unknown-sid', (room, m) => {
  m.session = room.sessions.get(sidOf(m));
  return m.session !== undefined;
});

export const SENDER_PARTICIPANT = check('sender-participant', 'sender-not-participant', (_, m) => {
  m.index = (m.session as Session).indexByNick.get(m.event.nick);
  return m.index !== undefined;
});

export const SIGNATURE = check('signature', 'bad-signature', (room, m) => {
  const participant = (m.session as Session).participants[m.index as number] as Participant;
  m.verified = verifyFrame(room.crypto, m.frame, participant.eph) ?? undefined;
  return m.verified !== undefined;
});

export const SESSION_ALIVE = check(
  'session-alive',
  'ignored: dead session',
  (_, m) => (m.session as Session).status !== 'dead',
);

/**
 * A LEAVE may be signed in the previous current session, whatever this client's status for it
 * (observers without its keys mark it dead at once, members let it drain).
 */
export const SESSION_ALIVE_OR_LEAVE_IN_FLIGHT = check(
  'session-alive-or-leave-in-flight',
  'ignored: dead session',
  (room, m) => (m.session as Session).status !== 'dead' || m.session === room.previousCurrent,
);

/**
 * Before it follows the room, a joiner reads a NOTICE or DECLINE that names it, unverified
 * (`onAdmissionDetached`): it cannot know the members' keys yet (docs/PROTOCOL.md "Admission
 * policy", rule 5).
 */
export const ATTACHED_OR_NOTICE: Check = {
  name: 'following-the-room-or-notice',
  fails: 'the outcome of onAdmissionDetached',
  run: (room, m) => (attached(room) ? undefined : onAdmissionDetached(room, m.frame, m.event)),
};

/** The body decodes against its type's schema (codec.ts): the codec's reason otherwise. */
export const BODY: Check = {
  name: 'body',
  fails: 'body-not-msgpack | body-schema',
  run: (_, m) => {
    const verified = m.verified as VerifiedFrame;
    const body = decodeBody(verified, verified.type);
    if (!body.ok) return body.error;
    m.body = body.value;
    return undefined;
  },
};

export const SENDER_INDEX = check(
  'sender-index',
  'sender-index-mismatch',
  (_, m) => (m.body as { index: number }).index === m.index,
);

/** After `leading`: the session, the sender, its signature, the session's status, the body. */
function sessionChecks(leading: Check, alive: Check = SESSION_ALIVE): readonly Check[] {
  return [leading, SESSION_KNOWN, SENDER_PARTICIPANT, SIGNATURE, alive, BODY, SENDER_INDEX];
}

interface RowRules<T extends MessageTypeName> {
  readonly type: T;
  readonly session: SessionRule;
  readonly sender: SenderRule;
  /**
   * Evidence that a conversation goes on in the room (anything but a join request): a joiner
   * that saw one does not found the room alone (docs/PROTOCOL.md rule 5).
   */
  readonly showsConversation: boolean;
  readonly checks: readonly Check[];
}

/** A row whose handler does its own checks, before any session lookup. */
interface EarlyRow<T extends MessageTypeName> extends RowRules<T> {
  readonly session: 'none' | 'blame-round';
  readonly checks: readonly [];
  readonly handle: (room: RoomState, m: Incoming) => DropReason;
}

/** A row that names a session: its checks establish the session, the sender and the body. */
interface SessionRow<T extends MessageTypeName> extends RowRules<T> {
  readonly session: Exclude<SessionRule, 'none' | 'blame-round'>;
  readonly handle: (room: RoomState, m: Checked<T>) => DropReason;
}

export type Row<T extends MessageTypeName> = EarlyRow<T> | SessionRow<T>;

/** Any row, its handler called with what its checks established. */
export interface DispatchRow extends RowRules<MessageTypeName> {
  readonly handle: (room: RoomState, m: Incoming) => DropReason;
}

export const DISPATCH: { readonly [T in MessageTypeName]: Row<T> } = {
  JOIN_REQUEST: {
    type: 'JOIN_REQUEST',
    session: 'none',
    sender: 'named-in-body',
    showsConversation: false,
    checks: [], // onJoinRequest: the body, 'sender-mismatch', 'bad-signature' (its own key)
    handle: (room, m) => onJoinRequest(room, m.frame, m.event),
  },
  PARTICIPANTS_INFO: {
    type: 'PARTICIPANTS_INFO',
    session: 'in-limbo',
    sender: 'member',
    showsConversation: true,
    checks: sessionChecks(ATTACHED_OR_TRANSFER),
    handle: (room, m) =>
      onContribution(room, m.session, m.index, m.body.z, m.event, {
        parent: m.body.parent,
        ...(m.body.kc ? { kc: m.body.kc } : {}),
        ...(m.body.kcs ? { kcs: m.body.kcs } : {}),
      }),
  },
  JOINER_AUTH: {
    type: 'JOINER_AUTH',
    session: 'in-limbo',
    sender: 'joiner',
    showsConversation: true,
    checks: sessionChecks(ATTACHED),
    handle: (room, m) => onJoinerAuth(room, m.session, m.index, m.body, m.event),
  },
  GROUP_SHARE: {
    type: 'GROUP_SHARE',
    session: 'in-limbo',
    sender: 'member',
    showsConversation: true,
    checks: sessionChecks(ATTACHED),
    handle: (room, m) =>
      onContribution(room, m.session, m.index, m.body.z, m.event, { parent: m.body.parent }),
  },
  SESSION_CONFIRMATION: {
    type: 'SESSION_CONFIRMATION',
    session: 'in-limbo',
    sender: 'participant',
    showsConversation: true,
    checks: [FOUNDING, ...sessionChecks(ATTACHED)],
    handle: (room, m) => onConfirmation(room, m.session, m.index, m.body, m.event),
  },
  CHAT: {
    type: 'CHAT',
    session: 'current-or-draining',
    sender: 'participant',
    showsConversation: true,
    checks: sessionChecks(ATTACHED),
    handle: (room, m) => onChat(room, m.session, m.index, m.body, m.verified, m.event),
  },
  LEAVE: {
    type: 'LEAVE',
    session: 'current-or-previous',
    sender: 'participant',
    showsConversation: true,
    checks: sessionChecks(ATTACHED, SESSION_ALIVE_OR_LEAVE_IN_FLIGHT),
    handle: (room, m) => onLeave(room, m.session, m.event),
  },
  REKEY: {
    type: 'REKEY',
    session: 'current',
    sender: 'participant',
    showsConversation: true,
    checks: sessionChecks(ATTACHED),
    handle: (room, m) => onRekey(room, m.session, m.event),
  },
  TIMEOUT: {
    type: 'TIMEOUT',
    session: 'current',
    sender: 'participant',
    showsConversation: true,
    checks: sessionChecks(ATTACHED),
    handle: (room, m) => onTimeout(room, m.session, m.body, m.event),
  },
  REVEAL: {
    type: 'REVEAL',
    session: 'blame-round',
    sender: 'needed-by-round',
    showsConversation: true,
    checks: [], // onReveal: following the room, the round, the sender, its signature, the body
    handle: (room, m) => onReveal(room, m.frame, m.event),
  },
  // Admission (docs/PROTOCOL.md "Admission policy"): signed in the current session, or in the
  // previous current one by a member of the current one (in flight, as LEAVE); the handler
  // (`onAdmissionMessage`) checks that and that the sender is not leaving.
  POLICY: admissionRow('POLICY', ATTACHED),
  ADMIT: admissionRow('ADMIT', ATTACHED),
  DECLINE: admissionRow('DECLINE', ATTACHED_OR_NOTICE),
  INVITE: admissionRow('INVITE', ATTACHED),
  NOTICE: admissionRow('NOTICE', ATTACHED_OR_NOTICE),
};

function admissionRow<T extends AdmissionType>(type: T, leading: Check): SessionRow<T> {
  return {
    type,
    session: 'current-or-previous',
    sender: 'participant',
    showsConversation: true,
    checks: sessionChecks(leading, SESSION_ALIVE_OR_LEAVE_IN_FLIGHT),
    handle: (room, m) => onAdmissionMessage(room, m.session, type, m.body, m.event),
  };
}

/**
 * The row of a parsed frame's type. A session row's handler reads what its checks established
 * (`Checked`), which `onMessage` passes on once they all let the frame through.
 */
export function dispatchRow(type: MessageTypeName): DispatchRow {
  return DISPATCH[type] as DispatchRow;
}
