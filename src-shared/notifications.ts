// When a message raises a desktop notification, and what it says. Shared by the Electron main
// process (Electron's Notification) and the renderer in the browser host (the Notifications
// API), so both follow the same rules: others' messages only, never for the room the user is
// looking at in a focused window, never for a muted room, nothing when notifications are off,
// and no message text unless the user turned that on (off by default).
import type { ClientEvent, RoomSummary, Settings } from './api';

export interface NotificationSpec {
  roomId: string;
  title: string;
  body: string;
}

export interface NotifyContext {
  /** The window (or the page) has the focus. */
  focused: boolean;
  /** The room on screen, if any. */
  viewRoomId: string | null;
  rooms: readonly RoomSummary[];
  settings: Pick<Settings, 'notifications' | 'notificationText'>;
}

const MAX_BODY = 140;
export const HIDDEN_BODY = 'New message';

export function notificationFor(event: ClientEvent, ctx: NotifyContext): NotificationSpec | null {
  if (event.type !== 'message' || event.message.own) return null;
  if (!ctx.settings.notifications) return null;
  if (ctx.focused && ctx.viewRoomId === event.roomId) return null;
  const room = ctx.rooms.find((r) => r.id === event.roomId);
  if (room?.muted) return null;
  const text = event.message.text.replace(/\s+/g, ' ').trim();
  const body = !ctx.settings.notificationText
    ? HIDDEN_BODY
    : text.length > MAX_BODY
      ? `${text.slice(0, MAX_BODY - 1)}…`
      : text;
  return {
    roomId: event.roomId,
    title: room ? `${event.message.from} in #${room.room}` : event.message.from,
    body,
  };
}

/** The window title with the unread total, as messengers show it: "(3) Conclave". */
export function titleWithUnread(unread: number): string {
  return unread > 0 ? `(${unread > 999 ? '999+' : unread}) Conclave` : 'Conclave';
}
