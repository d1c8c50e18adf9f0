// Desktop notifications in the Electron app: the rules live in src-shared/notifications.ts,
// shared with the browser host's page; this is the main process's entry to them.
export { notificationFor, titleWithUnread } from '../../src-shared/notifications';
export type { NotificationSpec, NotifyContext } from '../../src-shared/notifications';
