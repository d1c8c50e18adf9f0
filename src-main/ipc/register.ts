// Electron IPC wiring: one `invoke` channel for calls, one `send` channel for events. Typed
// structurally against the few Electron members it uses, so tests pass plain fakes.
import type { ClientEvent } from '../../src-shared/api';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels';
import type { Dispatch } from './dispatch';

export interface InvokeEventLike {
  senderFrame?: { url: string } | null;
}

export interface IpcMainLike {
  handle(
    channel: string,
    listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>,
  ): void;
  removeHandler(channel: string): void;
}

export interface WebContentsLike {
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/**
 * Registers the call channel. Calls from frames that are not the app's own pages (an injected
 * iframe, a navigated-away page) are refused before validation.
 */
export function registerIpc(
  ipcMain: IpcMainLike,
  dispatch: Dispatch,
  isTrustedUrl: (url: string) => boolean,
): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event, method, arg) => {
    const url = event.senderFrame?.url ?? '';
    if (!isTrustedUrl(url)) {
      return { ok: false, error: { code: 'BAD_ARGUMENT', message: 'untrusted sender' } };
    }
    return dispatch(method, arg);
  });
  return () => ipcMain.removeHandler(CALL_CHANNEL);
}

/** Pushes one client event to a window, if it is still there. */
export function forwardEvent(contents: WebContentsLike | null, event: ClientEvent): void {
  if (contents && !contents.isDestroyed()) contents.send(EVENT_CHANNEL, event);
}
