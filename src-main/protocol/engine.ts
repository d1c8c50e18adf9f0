// The room state machine of docs/PROTOCOL.md section 5, as a sans-I/O step function:
// `handle(input) -> effects`. Given the same ordered stream, every honest client computes the
// same sessions, sids, statuses and winner (the determinism rule): only ordered events change
// session state, while local inputs (timers, user commands) may only send messages.
//
// The engine is modules of functions over one explicit `RoomState` (room-state.ts), one concern
// per file (docs/ARCHITECTURE.md "The engine"). This class only holds the state, routes each
// input to its module, and wires `EngineOps`: the calls a lower module makes into a higher one
// (or into a step that admission.ts extends), so that no two modules import each other.
import { openBlame, revealerGone } from './accountability';
import {
  admissionGate,
  admissionView,
  departure,
  exportState,
  genesisExtras,
  importState,
  makeCurrent,
  onAdmissionCommand,
  requestExtras,
  restoreRollback,
} from './admission';
import { sendChat } from './chat';
import { parseFrame } from './codec';
import { dispatchRow, participantIn } from './dispatch';
import type { AdmissionView, Effect, EngineInput, JoinPhase } from './events';
import { sendGenesis, sendJoinRequest } from './joining';
import { sendLeave, sendRekey } from './membership';
import { onOrdered } from './ordered';
import { isMember } from './room-effects';
import { announceRestored, restoreSnapshot, toSnapshot } from './room-snapshot';
import type { EngineConfig, EngineOps, RoomState } from './room-state';
import { newRoomState } from './room-state';
import type { Session } from './session';
import { decodeSnapshot } from './snapshot';
import { onTimer, rearmTimers } from './timers';
import type { Nick, SignKeyPair, Sid } from './types';
import { asSid, toHex } from './types';

export type { EngineConfig } from './room-state';

/** The one wiring of the operations a module reaches above itself (room-state.ts). */
const OPS: EngineOps = {
  onOrdered,
  makeCurrent,
  departure,
  exportState,
  importState,
  restoreRollback,
  sendGenesis,
  sendJoinRequest,
  sendChat,
  openBlame,
  revealerGone,
  admissionGate,
  genesisExtras,
  requestExtras,
};

export class RoomEngine {
  /** The whole state of the room as this client sees it; the modules' functions act on it. */
  protected readonly state: RoomState;

  constructor(readonly config: EngineConfig) {
    this.state = newRoomState(config, OPS);
  }

  /** The step function. */
  handle(input: EngineInput): Effect[] {
    const room = this.state;
    room.effects = [];
    switch (input.kind) {
      case 'joined':
      case 'left':
      case 'message':
        onOrdered(room, input);
        break;
      case 'timer':
        onTimer(room, input.key, input.at);
        break;
      case 'send-chat':
        sendChat(room, input.text, input.id, input.attachment);
        break;
      case 'leave':
        sendLeave(room);
        break;
      case 'rekey':
        sendRekey(room);
        break;
      case 'set-policy':
      case 'admit':
      case 'decline':
      case 'announce-invite':
        onAdmissionCommand(room, input);
        break;
      case 'restored':
        rearmTimers(room);
        announceRestored(room);
        break;
      default: {
        const never: never = input;
        throw new Error(`unknown input ${String(never)}`);
      }
    }
    const out = room.effects;
    room.effects = [];
    return out;
  }

  get nick(): Nick {
    return this.state.nick;
  }

  get sessions(): Map<Sid, Session> {
    return this.state.sessions;
  }

  get current(): Session | null {
    return this.state.current;
  }

  get presence(): Set<Nick> {
    return this.state.presence;
  }

  get isMember(): boolean {
    return isMember(this.state);
  }

  get joinPhase(): JoinPhase {
    return this.state.phase;
  }

  get lastProcessedSeq(): number {
    return this.state.lastSeq;
  }

  get pending(): { joiners: Nick[]; leavers: Nick[] } {
    const room = this.state;
    return { joiners: room.pendingJoiners.map((j) => j.nick), leavers: [...room.pendingLeavers] };
  }

  /** The room's admission state as the UI shows it. */
  get admissionView(): AdmissionView {
    return admissionView(this.state);
  }

  /** Our long-term identity (tests and adversaries read it; never sent as a secret). */
  protected get identity(): SignKeyPair {
    return this.state.identity;
  }

  /**
   * What `handle` would check this frame's signature against if it arrived now: the signature,
   * the signed bytes and the sender's ephemeral key in the frame's session. Null when the
   * engine would not get as far (not following the room, unknown session or sender, malformed
   * bytes), when the frame is a JOIN_REQUEST (its key travels in its own body), or when it is
   * one this engine signed. A pure lookup: hosts use it to verify signatures ahead of the engine
   * on another thread (`Crypto.acceptVerified`); a wrong guess only costs that extra work,
   * since the engine's own check still needs the very same three values.
   */
  signerFor(
    nick: Nick,
    data: Uint8Array,
  ): { signature: Uint8Array; message: Uint8Array; publicKey: Uint8Array } | null {
    const room = this.state;
    if (room.mode !== 'attached') return null;
    const parsed = parseFrame(data);
    if (!parsed.ok || dispatchRow(parsed.value.type).sender === 'named-in-body') return null;
    const frame = parsed.value;
    if (room.crypto.isOwnSignature(frame.signature)) return null;
    const session = room.sessions.get(asSid(toHex(frame.sid as Uint8Array)));
    const participant = session && participantIn(session, nick);
    if (!participant) return null;
    return { signature: frame.signature, message: frame.signed, publicKey: participant.eph };
  }

  /** Everything needed to resume after a crash, secrets included (the store encrypts it). */
  toSnapshot(): Uint8Array {
    return toSnapshot(this.state);
  }

  /** Rebuild an engine from `toSnapshot()` bytes; then feed it `{ kind: 'restored' }`. */
  static fromSnapshot(config: EngineConfig, bytes: Uint8Array): RoomEngine {
    const x = decodeSnapshot(bytes);
    if (x.nick !== config.nick) throw new Error(`snapshot is for ${x.nick}, not ${config.nick}`);
    const engine = new RoomEngine(config);
    restoreSnapshot(engine.state, x);
    return engine;
  }
}
