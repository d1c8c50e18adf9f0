// The application's state: identity, rooms, which screen is showing, and one RoomModel per open
// room. Fed by the client's event stream; components call its methods and render its fields.
import { SvelteMap } from 'svelte/reactivity';
import type { ClientEvent, IdentityInfo, RoomSummary } from '../../../src-shared/api';
import type { Api } from '../lib/api';
import { errorText } from '../lib/api';
import type { HostLink } from '../lib/ws-bridge';
import { RoomModel } from './room.svelte';

export type Screen = 'loading' | 'unavailable' | 'first-run' | 'join' | 'room';

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
  readonly unread = new SvelteMap<string, number>();
  readonly models = new SvelteMap<string, RoomModel>();

  activeRooms = $derived(this.rooms.filter((r) => r.phase !== 'left'));
  recentRooms = $derived(this.rooms.filter((r) => r.phase === 'left'));
  selected = $derived(this.selectedRoomId ? (this.models.get(this.selectedRoomId) ?? null) : null);
  screen: Screen = $derived.by(() => {
    if (this.fatal) return 'unavailable';
    if (!this.loaded) return 'loading';
    if (!this.identity || this.onboarding) return 'first-run';
    if (this.selected && !this.joinRequested) return 'room';
    return 'join';
  });

  private nextToast = 1;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly api: Api) {}

  async start(): Promise<void> {
    this.unsubscribe ??= this.api.subscribe((event) => this.apply(event));
    await this.sync();
  }

  /** (Re)reads everything: at start, and after the browser host's socket comes back. */
  async sync(): Promise<void> {
    try {
      const [identity, defaultRelayUrl, rooms] = await Promise.all([
        this.api.call('identity', null),
        this.api.call('defaultRelayUrl', null),
        this.api.call('listRooms', null),
      ]);
      this.identity = identity;
      this.defaultRelayUrl = defaultRelayUrl;
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
    let model = this.models.get(event.roomId);
    if (!model) {
      // A late event from a room we already left must not bring it back.
      if (this.rooms.some((r) => r.id === event.roomId && r.phase === 'left')) return;
      model = this.openModel(event.roomId);
    }
    model.apply(event);
    if (event.type === 'message' && !event.message.own && event.roomId !== this.selectedRoomId) {
      this.unread.set(event.roomId, (this.unread.get(event.roomId) ?? 0) + 1);
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
            }
          : r,
      );
    }
  }

  select(roomId: string): void {
    this.selectedRoomId = roomId;
    this.joinRequested = false;
    this.unread.delete(roomId);
  }

  showJoin(): void {
    this.joinRequested = true;
  }

  cancelJoin(): void {
    this.joinRequested = false;
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

  async join(relayUrl: string, room: string, nick: string): Promise<void> {
    const summary = await this.api.call('joinRoom', { relayUrl, room, nick });
    this.setNickname(nick);
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
