// The runtime's event fan-out: client events for the hosts (renderer, headless CLI) and the raw
// engine events of every room. A listener that throws is reported and does not stop the others.
import type { ClientEvent } from '../../src-shared/api';
import type { AppEvent } from '../protocol/events';

export type ClientListener = (event: ClientEvent) => void;
export type EngineListener = (roomId: string, event: AppEvent) => void;

export class EventBus {
  private readonly listeners = new Set<ClientListener>();
  private readonly engineListeners = new Set<EngineListener>();

  subscribe(listener: ClientListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeEngine(listener: EngineListener): () => void {
    this.engineListeners.add(listener);
    return () => this.engineListeners.delete(listener);
  }

  readonly emit = (event: ClientEvent): void => {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error('client event listener failed', error);
      }
    }
  };

  readonly emitEngine = (roomId: string, event: AppEvent): void => {
    for (const listener of this.engineListeners) listener(roomId, event);
  };
}
