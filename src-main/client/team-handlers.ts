// The API methods a team needs beyond the room itself: invites, team relays with their tokens,
// settings, a room that gave up on its relay (retry, remove), muting, the outbox's retry and
// discard, and what the user has in view (for the desktop's notifications and badge).
import type { ApiArg, ApiMethod, ApiResult, RelayInfo } from '../../src-shared/api';
import { inviteLink, inviteText, relayUrlProblem } from '../../src-shared/invite';
import type { ApiContext } from './api-context';
import { ApiFailure } from './errors';

type Handler<M extends ApiMethod> = (ctx: ApiContext, arg: ApiArg<M>) => Promise<ApiResult<M>>;
type Table<K extends ApiMethod> = { [M in K]: Handler<M> };

export function relayList(ctx: ApiContext): RelayInfo[] {
  const settings = ctx.settings.get();
  const defaultUrl = settings.defaultRelayUrl ?? ctx.defaultRelayUrl;
  const stored = ctx.profile.store.listRelays();
  const infos: RelayInfo[] = [
    {
      url: ctx.defaultRelayUrl,
      hasToken: stored.some((r) => r.url === ctx.defaultRelayUrl && r.hasToken),
      builtIn: true,
      isDefault: defaultUrl === ctx.defaultRelayUrl,
    },
  ];
  for (const r of stored) {
    if (r.url === ctx.defaultRelayUrl) continue;
    infos.push({
      url: r.url,
      hasToken: r.hasToken,
      builtIn: false,
      isDefault: r.url === defaultUrl,
    });
  }
  return infos;
}

export const teamHandlers: Table<
  | 'retryRoom'
  | 'setAdmission'
  | 'answerKnock'
  | 'removeRoom'
  | 'setMuted'
  | 'retryMessage'
  | 'discardMessage'
  | 'outbox'
  | 'createInvite'
  | 'takeInvite'
  | 'getSettings'
  | 'updateSettings'
  | 'listRelays'
  | 'saveRelay'
  | 'removeRelay'
  | 'viewState'
> = {
  retryRoom: async ({ rooms }, { roomId }) => {
    rooms.get(roomId).retry();
    return null;
  },
  removeRoom: async ({ rooms, bus }, { roomId }) => {
    const id = rooms.roomIdOf(roomId);
    if (rooms.isOpen(roomId)) rooms.remove(roomId).close();
    rooms.forget(id);
    bus.emit({ type: 'rooms-changed', rooms: rooms.list() });
    return null;
  },
  setMuted: async ({ profile, rooms, bus }, { roomId, muted }) => {
    profile.store.setMuted(rooms.roomIdOf(roomId), muted);
    if (rooms.isOpen(roomId)) rooms.get(roomId).refreshRecord();
    bus.emit({ type: 'rooms-changed', rooms: rooms.list() });
    return null;
  },
  retryMessage: async ({ rooms }, { roomId, id }) => {
    const runner = rooms.get(roomId);
    runner.sendPending(id, runner.outbox.resend(id));
    return null;
  },
  discardMessage: async ({ rooms }, { roomId, id }) => {
    rooms.get(roomId).outbox.discard(id);
    return null;
  },
  outbox: async ({ rooms }, { roomId }) => rooms.get(roomId).outbox.list(),
  createInvite: async ({ profile, rooms }, { roomId }) => {
    const record = profile.store.getRoom(rooms.roomIdOf(roomId));
    if (!record) throw new ApiFailure('UNKNOWN_ROOM', `no room ${roomId}`);
    const token = profile.store.getRelayToken(record.relayUrl);
    // An invite-only room: a fresh one-time secret, its public key announced in the room.
    const runner = rooms.isOpen(roomId) ? rooms.get(roomId) : null;
    const secret =
      runner?.engine.isMember && runner.engine.admissionView.policy === 'invite'
        ? runner.announceInvite()
        : null;
    const invite = {
      relayUrl: record.relayUrl,
      room: record.name,
      token,
      ...(secret ? { secret } : {}),
    };
    return {
      link: inviteLink(invite),
      text: inviteText(invite),
      hasToken: token !== null,
      oneTime: secret !== null,
    };
  },
  setAdmission: async ({ rooms }, { roomId, policy }) => {
    rooms.get(roomId).setAdmission(policy);
    return null;
  },
  answerKnock: async ({ rooms }, { roomId, nick, seq, admit }) => {
    rooms.get(roomId).answerKnock(nick, seq, admit);
    return null;
  },
  takeInvite: async ({ invites }) => invites.take(),
  getSettings: async ({ settings }) => settings.get(),
  updateSettings: async ({ settings }, patch) => settings.update(patch),
  listRelays: async (ctx) => relayList(ctx),
  saveRelay: async (ctx, { url, token }) => {
    const problem = relayUrlProblem(url);
    if (problem) throw new ApiFailure('BAD_ARGUMENT', problem);
    ctx.profile.store.saveRelay(url, token);
    return relayList(ctx);
  },
  removeRelay: async (ctx, { url }) => {
    if (url === ctx.defaultRelayUrl) {
      throw new ApiFailure('BAD_ARGUMENT', 'the built-in relay cannot be removed');
    }
    ctx.profile.store.deleteRelay(url);
    if (ctx.settings.get().defaultRelayUrl === url) ctx.settings.update({ defaultRelayUrl: null });
    return relayList(ctx);
  },
  viewState: async ({ onViewState }, view) => {
    onViewState?.(view);
    return null;
  },
};
