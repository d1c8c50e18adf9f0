// Prometheus metrics on a Registry owned by one relay, so several relays in one process (tests,
// the app plus a bench) never register the same metric twice.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from './wire';

export interface GaugeSources {
  connections(): number;
  rooms(): number;
  members(): number;
}

export class RelayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'type'>;
  readonly bytesIn: Counter;
  readonly deliveries: Counter;
  readonly bytesOut: Counter;
  readonly rejections: Counter<'code'>;
  /** Set once the relay's core exists (it needs these metrics to be built first). */
  private sources: GaugeSources = { connections: () => 0, rooms: () => 0, members: () => 0 };

  constructor(processMetrics: boolean) {
    const registers = [this.registry];
    const sources = (): GaugeSources => this.sources;
    new Gauge({
      name: 'conclave_relay_connections',
      help: 'Open client connections on this node',
      registers,
      collect() {
        this.set(sources().connections());
      },
    });
    new Gauge({
      name: 'conclave_relay_rooms',
      help: 'Rooms with at least one member connected to this node',
      registers,
      collect() {
        this.set(sources().rooms());
      },
    });
    new Gauge({
      name: 'conclave_relay_members',
      help: 'Room memberships held by connections to this node',
      registers,
      collect() {
        this.set(sources().members());
      },
    });
    this.requests = new Counter({
      name: 'conclave_relay_events_in_total',
      help: 'Client requests received, by type (join, send, leave)',
      labelNames: ['type'],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'conclave_relay_bytes_in_total',
      help: 'Bytes of message data accepted from clients',
      registers,
    });
    this.deliveries = new Counter({
      name: 'conclave_relay_events_out_total',
      help: 'Events delivered to clients (one per event per receiving member)',
      registers,
    });
    this.bytesOut = new Counter({
      name: 'conclave_relay_bytes_out_total',
      help: 'Bytes of message data delivered to clients',
      registers,
    });
    this.rejections = new Counter({
      name: 'conclave_relay_rejections_total',
      help: 'Requests refused, by error code',
      labelNames: ['code'],
      registers,
    });
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observe(sources: GaugeSources): void {
    this.sources = sources;
  }

  reject(code: ErrorCode): void {
    this.rejections.inc({ code });
  }
}
