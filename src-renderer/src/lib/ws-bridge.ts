// The ConclaveBridge of the browser host: the same typed calls and events as Electron's preload,
// carried over one loopback WebSocket. Calls made while the socket is down are queued until it
// reconnects; a call whose socket drops before the reply fails with a clear message.
import type { ClientEvent, ConclaveBridge, Reply } from '../../../src-shared/api';
import type { BridgeCall, BridgeServerMessage } from '../../../src-shared/bridge-wire';

export type HostLink = 'connecting' | 'open' | 'closed';

export interface WebSocketBridge extends ConclaveBridge {
  onLink(listener: (state: HostLink) => void): () => void;
}

const RETRY_MS = [250, 500, 1000, 2000, 5000];

export function connectWebSocketBridge(url: string): WebSocketBridge {
  const listeners = new Set<(event: ClientEvent) => void>();
  const linkListeners = new Set<(state: HostLink) => void>();
  const pending = new Map<number, (reply: Reply<unknown>) => void>();
  let queue: BridgeCall[] = [];
  let socket: WebSocket | null = null;
  let nextId = 1;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const setLink = (state: HostLink) => linkListeners.forEach((l) => l(state));

  function open(): void {
    if (socket || retryTimer) return;
    setLink('connecting');
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      setLink('open');
      const waiting = queue;
      queue = [];
      for (const call of waiting) ws.send(JSON.stringify(call));
    };
    ws.onmessage = (frame) => {
      let message: BridgeServerMessage;
      try {
        message = JSON.parse(String(frame.data)) as BridgeServerMessage;
      } catch {
        return;
      }
      if (message.t === 'reply') {
        const resolve = pending.get(message.id);
        pending.delete(message.id);
        resolve?.(message.reply);
      } else if (message.t === 'event') {
        for (const l of listeners) l(message.event);
      }
    };
    ws.onclose = () => {
      socket = null;
      for (const [id, resolve] of pending) {
        if (queue.some((c) => c.id === id)) continue;
        pending.delete(id);
        resolve({
          ok: false,
          error: { code: 'INTERNAL', message: 'lost the connection to the Conclave host' },
        });
      }
      setLink('closed');
      const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] ?? 5000;
      attempt += 1;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        open();
      }, delay);
    };
  }

  open();
  return {
    call(method, arg) {
      const call: BridgeCall = { t: 'call', id: nextId++, method, arg };
      return new Promise((resolve) => {
        pending.set(call.id, resolve as (reply: Reply<unknown>) => void);
        if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(call));
        else {
          queue.push(call);
          open();
        }
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onLink(listener) {
      linkListeners.add(listener);
      return () => linkListeners.delete(listener);
    },
  };
}
