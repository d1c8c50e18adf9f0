// The preload exposes exactly one frozen object, window.conclave, with call and subscribe; calls
// go over the one invoke channel and the page never receives the IPC event object.
import { beforeAll, describe, expect, it, vi } from 'vitest';

const electron = vi.hoisted(() => ({
  contextBridge: { exposeInMainWorld: vi.fn() },
  ipcRenderer: {
    invoke: vi.fn(async () => ({ ok: true, value: 'pong' })),
    on: vi.fn(),
    removeListener: vi.fn(),
  },
}));
vi.mock('electron', () => electron);

let exposeCalls: unknown[][];
let exposed: Record<string, unknown>;

beforeAll(async () => {
  await import('../../src-preload/index');
  // Vitest clears mock records between tests: keep what the import did.
  exposeCalls = [...electron.contextBridge.exposeInMainWorld.mock.calls];
  exposed = exposeCalls[0]?.[1] as Record<string, unknown>;
});

describe('preload', () => {
  it('exposes only window.conclave, frozen, with call and subscribe', () => {
    expect(exposeCalls).toHaveLength(1);
    expect(exposeCalls[0]?.[0]).toBe('conclave');
    expect(Object.keys(exposed).sort()).toEqual(['call', 'subscribe']);
    expect(Object.isFrozen(exposed)).toBe(true);
    expect(typeof exposed['call']).toBe('function');
  });

  it('forwards calls on the conclave:call channel and returns the reply', async () => {
    const call = exposed['call'] as (m: string, a: unknown) => Promise<unknown>;
    await expect(call('roomState', { roomId: '1' })).resolves.toEqual({ ok: true, value: 'pong' });
    expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith('conclave:call', 'roomState', {
      roomId: '1',
    });
  });

  it('delivers events without the IPC event object and unsubscribes', () => {
    const subscribe = exposed['subscribe'] as (l: (e: unknown) => void) => () => void;
    const seen: unknown[][] = [];
    const unsubscribe = subscribe((...args) => seen.push(args));
    const [channel, forward] = electron.ipcRenderer.on.mock.calls[0] as unknown as [
      string,
      (...a: unknown[]) => void,
    ];
    expect(channel).toBe('conclave:event');
    const ipcEvent = { sender: { send: () => {} }, ports: [] };
    const clientEvent = { type: 'rooms-changed', rooms: [] };
    forward(ipcEvent, clientEvent);
    expect(seen).toEqual([[clientEvent]]);
    unsubscribe();
    expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith('conclave:event', forward);
  });
});
