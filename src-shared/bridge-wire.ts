// The browser host's bridge protocol: JSON text frames on one loopback WebSocket. The renderer
// sends calls; the host answers each by id and pushes client events. Pure types and constants,
// imported by the renderer's WebSocket bridge as well.
import type { ClientEvent, Reply } from './api';

export const BRIDGE_PATH = '/bridge';
/** Largest frame either side accepts. A 16 KiB message is far below it. */
export const BRIDGE_MAX_FRAME = 1024 * 1024;

export interface BridgeCall {
  t: 'call';
  id: number;
  method: string;
  arg: unknown;
}

export type BridgeServerMessage =
  { t: 'reply'; id: number; reply: Reply<unknown> } | { t: 'event'; event: ClientEvent };
