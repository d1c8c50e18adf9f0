// The preload exposes exactly one object, `window.conclave` (a ConclaveBridge): calls go to the
// main process over one invoke channel, events arrive on one channel. The page never sees
// ipcRenderer or the IPC event object (which would give it the sender and reply ports).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ClientEvent, ConclaveBridge } from '../src-shared/api';
import { CALL_CHANNEL, EVENT_CHANNEL } from '../src-main/ipc/channels';

const bridge: ConclaveBridge = {
  call(method, arg) {
    return ipcRenderer.invoke(CALL_CHANNEL, method, arg);
  },
  subscribe(listener) {
    const forward = (_event: IpcRendererEvent, clientEvent: ClientEvent) => listener(clientEvent);
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, forward);
    };
  },
};

contextBridge.exposeInMainWorld('conclave', Object.freeze(bridge));
