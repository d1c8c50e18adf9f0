// Desktop notifications for new messages while the window is not focused. Only others'
// messages notify; the body is cut short so a long message does not fill the screen.
import type { ClientEvent, RoomSummary } from '../../src-shared/api';

export interface NotificationSpec {
  roomId: string;
  title: string;
  body: string;
}

const MAX_BODY = 140;

export function notificationFor(
  event: ClientEvent,
  focused: boolean,
  rooms: readonly RoomSummary[],
): NotificationSpec | null {
  if (focused || event.type !== 'message' || event.message.own) return null;
  const room = rooms.find((r) => r.id === event.roomId);
  const text = event.message.text.replace(/\s+/g, ' ').trim();
  return {
    roomId: event.roomId,
    title: room ? `${event.message.from} in #${room.room}` : event.message.from,
    body: text.length > MAX_BODY ? `${text.slice(0, MAX_BODY - 1)}…` : text,
  };
}
