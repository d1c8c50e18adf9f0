// The application's state: identity, rooms, which screen is showing, and one RoomModel per open
// room. Fed by the client's event stream; components call its methods and render its fields.
import { SvelteMap } from 'svelte/reactivity';
import type {
  ClientEvent,
  IdentityInfo,
  InviteOffer,
  RelayInfo,
  RoomSummary,
  Settings,
} from '../../../src-shared/api';
import { notificationFor } from '../../../src-shared/notifications';
import type { Api } from '../lib/api';
import { errorText } from '../lib/api';
import { pageNotifications, type PageNotifications } from '../lib/page-notifications';
import type { HostLink } from '../lib/ws-bridge';
import { RoomModel } from './room.svelte';

export type Screen = 'loading' | 'unavailable' | 'first-run' | 'join' | 'room' | 'settings';

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  notifications: true,
  notificationText: false,
  rekeyIntervalHours: 168,
  defaultRelayUrl: null,
};

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

const NICK_KEY = 'conclave.nickname';

export class AppState {
  loaded = $state(false);
  fatal = $state<string | null>(null);
  identity = $state.raw<IdentityInfo | null>(null);
  /** True between creating the identity and pressing Continue (the fingerprint is shown). */
  onboarding = $state(false);
  rooms = $state.raw<RoomSummary[]>([]);
  defaultRelayUrl = $state('');
  selectedRoomId = $state<string | null>(null);
  joinRequested = $state(false);
  debugOpen = $state(false);
  hostLink = $state<HostLink>('open');
  nickname = $state(readNickname());
  toasts = $state.raw<Toast[]>([]);
  settings = $state.raw<Settings>(DEFAULT_SETTINGS);
  relays = $state.raw<RelayInfo[]>([]);
  /** An invite to confirm (pasted, or handed to the app by the OS or the host's --invite). */
  invite = $state.raw<InviteOffer | null>(null);
  settingsOpen = $state(false);
  /** The sidebar as a drawer on narrow windows. */
  sidebarOpen = $state(false);
  /** The page (or window) has the focus: notifications and unread marks depend on it. */
  focused = $state(true);
  readonly unread = new SvelteMap<string, number>();
  readonly models = new SvelteMap<string, RoomModel>();

  activeRooms = $derived(this.rooms.filter((r) => r.phase !== 'left'));
  recentRooms = $derived(this.rooms.filter((r) => r.phase === 'left'));
  selected = $derived(this.selectedRoomId ? (this.models.get(this.selectedRoomId) ?? null) : null);
  screen: Screen = $derived.by(() => {
    if (this.fatal) return 'unavailable';
    if (!this.loaded) return 'loading';
    if (!this.identity || this.onboarding) return 'first-run';
    if (this.settingsOpen) return 'settings';
    if (this.selected && !this.joinRequested) return 'room';
    return 'join';
  });
  unreadTotal = $derived([...this.unread.values()].reduce((a, b) => a + b, 0));
  /** The room on screen, for notifications: none while the join form or settings show. */
  viewRoomId = $derived(this.screen === 'room' ? this.selectedRoomId : null);

  private nextToast = 1;
  private unsubscribe: (() => void) | null = null;
  private readonly notifier: PageNotifications | null;

  /** `pageNotify`: raise notifications from the page (the browser host; Electron's main does). */
  constructor(
    private readonly api: Api,
    pageNotify = false,
  ) {
    this.notifier = pageNotify
      ? pageNotifications((roomId) => this.openFromNotification(roomId))
      : null;
  }

  async start(): Promise<void> {
    this.unsubscribe ??= this.api.subscribe((event) => this.apply(event));
    await this.sync();
  }

  /** (Re)reads everything: at start, and after the browser host's socket comes back. */
  async sync(): Promise<void> {
    try {
      const [identity, defaultRelayUrl, rooms, settings, relays, invite] = await Promise.all([
        this.api.call('identity', null),
        this.api.call('defaultRelayUrl', null),
        this.api.call('listRooms', null),
        this.api.call('getSettings', null),
        this.api.call('listRelays', null),
        this.api.call('takeInvite', null),
      ]);
      this.identity = identity;
      this.defaultRelayUrl = defaultRelayUrl;
      this.settings = settings;
      this.relays = relays;
      if (invite) this.offerInvite(invite);
      this.setRooms(rooms);
      for (const model of this.models.values()) void model.load();
      if (!this.selectedRoomId && this.activeRooms[0]) this.select(this.activeRooms[0].id);
      this.loaded = true;
      this.fatal = null;
    } catch (error) {
      if (!this.loaded) this.fatal = errorText(error);
      else this.toast('error', errorText(error));
    }
  }

  setHostLink(link: HostLink): void {
    const wasDown = this.hostLink === 'closed';
    this.hostLink = link;
    if (link === 'open' && wasDown) void this.sync();
  }

  private setRooms(rooms: RoomSummary[]): void {
    this.rooms = rooms;
    for (const room of rooms) {
      if (room.phase !== 'left' && !this.models.has(room.id)) this.openModel(room.id);
    }
    for (const [id, model] of this.models) {
      if (!rooms.some((r) => r.id === id && r.phase !== 'left')) {
        model.dispose();
        this.models.delete(id);
        this.unread.delete(id);
        if (this.selectedRoomId === id) this.selectedRoomId = null;
      }
    }
  }

  private openModel(id: string): RoomModel {
    const model = new RoomModel(id, this.api);
    this.models.set(id, model);
    void model.load();
    return model;
  }

  apply(event: ClientEvent): void {
    if (event.type === 'rooms-changed') {
      this.setRooms(event.rooms);
      return;
    }
    if (event.type === 'settings') {
      this.settings = event.settings;
      void this.refreshRelays();
      return;
    }
    if (event.type === 'invite') {
      this.offerInvite(event.offer);
      return;
    }
    let model = this.models.get(event.roomId);
    if (!model) {
      // A late event from a room we already left must not bring it back.
      if (this.rooms.some((r) => r.id === event.roomId && r.phase === 'left')) return;
      model = this.openModel(event.roomId);
    }
    model.apply(event);
    if (event.type === 'message' && !event.message.own) {
      if (this.viewRoomId !== event.roomId || !this.focused) {
        this.unread.set(event.roomId, (this.unread.get(event.roomId) ?? 0) + 1);
      }
      const spec = notificationFor(event, {
        focused: this.focused,
        viewRoomId: this.viewRoomId,
        rooms: this.rooms,
        settings: this.settings,
      });
      if (spec) this.notifier?.show(spec);
    }
    if (event.type === 'room-updated') {
      // Keep the sidebar's summary in step with the room without another call.
      this.rooms = this.rooms.map((r) =>
        r.id === event.roomId
          ? {
              ...r,
              connection: event.state.connection,
              phase: event.state.phase,
              members: event.state.current?.members ?? [],
              muted: event.state.muted,
              failure: event.state.failure,
            }
          : r,
      );
    }
  }

  select(roomId: string): void {
    this.selectedRoomId = roomId;
    this.joinRequested = false;
    this.settingsOpen = false;
    this.sidebarOpen = false;
    this.unread.delete(roomId);
  }

  showJoin(): void {
    this.joinRequested = true;
    this.settingsOpen = false;
    this.sidebarOpen = false;
  }

  cancelJoin(): void {
    this.joinRequested = false;
    this.invite = null;
  }

  showSettings(): void {
    this.settingsOpen = true;
    this.sidebarOpen = false;
  }

  closeSettings(): void {
    this.settingsOpen = false;
  }

  toggleSidebar(): void {
    this.sidebarOpen = !this.sidebarOpen;
  }

  /** The window gained or lost the focus: the room in view is read once it is focused. */
  setFocused(focused: boolean): void {
    this.focused = focused;
    if (focused && this.viewRoomId) this.unread.delete(this.viewRoomId);
  }

  /** Shows the join form with the invite to confirm; nothing joins until the user says so. */
  offerInvite(offer: InviteOffer): void {
    this.invite = offer;
    this.showJoin();
  }

  private openFromNotification(roomId: string): void {
    if (this.models.has(roomId)) this.select(roomId);
  }

  async updateSettings(patch: Partial<Settings>): Promise<void> {
    this.settings = await this.api.call('updateSettings', patch);
    if ('defaultRelayUrl' in patch)
      this.defaultRelayUrl = await this.api.call('defaultRelayUrl', null);
  }

  async refreshRelays(): Promise<void> {
    this.relays = await this.api.call('listRelays', null);
    this.defaultRelayUrl = await this.api.call('defaultRelayUrl', null);
  }

  async saveRelay(url: string, token?: string | null): Promise<void> {
    this.relays = await this.api.call('saveRelay', token === undefined ? { url } : { url, token });
  }

  async removeRelay(url: string): Promise<void> {
    this.relays = await this.api.call('removeRelay', { url });
    this.defaultRelayUrl = await this.api.call('defaultRelayUrl', null);
  }

  async setMuted(roomId: string, muted: boolean): Promise<void> {
    await this.api.call('setMuted', { roomId, muted });
  }

  async retryRoom(roomId: string): Promise<void> {
    await this.api.call('retryRoom', { roomId });
  }

  /** Saves a new token for the room's relay and tries again. */
  async retryWithToken(roomId: string, relayUrl: string, token: string): Promise<void> {
    await this.saveRelay(relayUrl, token);
    await this.api.call('retryRoom', { roomId });
  }

  async removeRoom(roomId: string): Promise<void> {
    await this.api.call('removeRoom', { roomId });
    const model = this.models.get(roomId);
    model?.dispose();
    this.models.delete(roomId);
    if (this.selectedRoomId === roomId) this.selectedRoomId = null;
    this.setRooms(await this.api.call('listRooms', null));
    const next = this.activeRooms[0];
    if (next) this.select(next.id);
  }

  exportAllDebug(): Promise<string> {
    return this.api.call('exportAllDebug', null);
  }

  /** Tells the host what is on screen (the desktop shell's notifications and badge). */
  reportView(): void {
    void this.api
      .call('viewState', {
        roomId: this.viewRoomId,
        focused: this.focused,
        unread: this.unreadTotal,
      })
      .catch(() => {});
  }

  /** Asks the browser for permission to notify (a user gesture: the settings switch). */
  async allowPageNotifications(): Promise<NotificationPermission | 'unsupported'> {
    return this.notifier ? this.notifier.request() : 'unsupported';
  }

  get pageNotificationPermission(): NotificationPermission | 'unsupported' | 'host' {
    return this.notifier ? this.notifier.permission() : 'host';
  }

  setNickname(nick: string): void {
    this.nickname = nick;
    try {
      localStorage.setItem(NICK_KEY, nick);
    } catch {
      // Storage may be unavailable (private window); the name is only a convenience.
    }
  }

  async createIdentity(nick: string): Promise<void> {
    this.setNickname(nick.trim());
    this.identity = await this.api.call('createIdentity', null);
    this.onboarding = true;
  }

  finishOnboarding(): void {
    this.onboarding = false;
  }

  async join(
    relayUrl: string,
    room: string,
    nick: string,
    token?: string,
    inviteSecret?: string,
  ): Promise<void> {
    const summary = await this.api.call('joinRoom', {
      relayUrl,
      room,
      nick,
      ...(token ? { token } : {}),
      ...(inviteSecret ? { inviteSecret } : {}),
    });
    this.invite = null;
    this.setNickname(nick);
    void this.refreshRelays();
    if (!this.rooms.some((r) => r.id === summary.id)) this.rooms = [...this.rooms, summary];
    if (!this.models.has(summary.id)) this.openModel(summary.id);
    this.select(summary.id);
  }

  async leave(roomId: string): Promise<void> {
    const model = this.models.get(roomId);
    await this.api.call('leaveRoom', { roomId });
    model?.dispose();
    this.models.delete(roomId);
    if (this.selectedRoomId === roomId) {
      this.selectedRoomId = null;
      const next = this.activeRooms.find((r) => r.id !== roomId);
      if (next) this.select(next.id);
    }
    this.setRooms(await this.api.call('listRooms', null));
  }

  toggleDebug(): void {
    this.debugOpen = !this.debugOpen;
  }

  toast(kind: Toast['kind'], text: string): void {
    const toast = { id: this.nextToast++, kind, text };
    this.toasts = [...this.toasts, toast];
    setTimeout(() => this.dismiss(toast.id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /** Runs an action, showing its failure as a toast; returns whether it succeeded. */
  async attempt(action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      this.toast('error', errorText(error));
      return false;
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const m of this.models.values()) m.dispose();
  }
}

function readNickname(): string {
  try {
    return localStorage.getItem(NICK_KEY) ?? '';
  } catch {
    return '';
  }
}
