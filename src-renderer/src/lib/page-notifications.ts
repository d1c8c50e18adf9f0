// Desktop notifications raised by the page itself, with the browser's Notifications API: the
// browser host's way (in Electron the main process raises them, and the page has no permission).
import type { NotificationSpec } from '../../../src-shared/notifications';

export interface PageNotifications {
  show(spec: NotificationSpec): void;
  request(): Promise<NotificationPermission | 'unsupported'>;
  permission(): NotificationPermission | 'unsupported';
}

export function pageNotifications(onOpen: (roomId: string) => void): PageNotifications | null {
  if (typeof Notification === 'undefined') return null;
  return {
    show(spec) {
      if (Notification.permission !== 'granted') return;
      try {
        // One per room: a newer message replaces the older notification.
        const note = new Notification(spec.title, { body: spec.body, tag: `room-${spec.roomId}` });
        note.onclick = () => {
          window.focus();
          onOpen(spec.roomId);
          note.close();
        };
      } catch {
        // Some browsers allow notifications only from a service worker; nothing to show then.
      }
    },
    async request() {
      if (Notification.permission !== 'default') return Notification.permission;
      return Notification.requestPermission();
    },
    permission: () => Notification.permission,
  };
}
