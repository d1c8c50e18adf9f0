// Finds the API the page runs against: Electron's preload (window.conclave), or the browser
// host's WebSocket with the per-launch token from the URL fragment. The token is moved out of
// the address bar into this tab's session storage, so a reload still works but a screenshot or
// screen share of the URL does not leak it.
import type { ConclaveBridge } from '../../../src-shared/api';
import { BRIDGE_PATH } from '../../../src-shared/bridge-wire';
import { connectWebSocketBridge, type WebSocketBridge } from './ws-bridge';

export type FoundBridge =
  | { kind: 'electron'; bridge: ConclaveBridge }
  | { kind: 'browser'; bridge: WebSocketBridge }
  | { kind: 'none'; reason: string };

const TOKEN_KEY = 'conclave.bridge-token';

declare global {
  interface Window {
    conclave?: ConclaveBridge;
  }
}

function takeToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function findBridge(): FoundBridge {
  if (window.conclave) return { kind: 'electron', bridge: window.conclave };
  if (location.protocol !== 'http:') {
    return { kind: 'none', reason: 'This page must be opened by the Conclave app or web host.' };
  }
  const token = takeToken();
  if (!token) {
    return {
      kind: 'none',
      reason: 'Open the full address printed by `npm run web` (it ends with #token=…).',
    };
  }
  const url = `ws://${location.host}${BRIDGE_PATH}?token=${encodeURIComponent(token)}`;
  return { kind: 'browser', bridge: connectWebSocketBridge(url) };
}
