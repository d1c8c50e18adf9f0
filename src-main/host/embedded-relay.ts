// The relay the app runs for itself, so a fresh install works alone and two instances on one
// machine can reach each other. It binds 127.0.0.1 unless the user explicitly exposes it.
import { startRelay, type RunningRelay } from '../relay/index';

export interface EmbeddedRelay {
  relay: RunningRelay;
  /** What this machine's clients use: always the loopback address. */
  localUrl: string;
}

export interface EmbeddedRelayOptions {
  exposeOnLan?: boolean;
  /** Preferred port; when it is taken, any free port. 0 means any free port. */
  port?: number;
}

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

export async function startEmbeddedRelay(opts: EmbeddedRelayOptions = {}): Promise<EmbeddedRelay> {
  const host = opts.exposeOnLan ? '0.0.0.0' : '127.0.0.1';
  let relay: RunningRelay;
  try {
    relay = await startRelay({ host, port: opts.port ?? 0 });
  } catch (error) {
    if (!isAddressInUse(error) || !opts.port) throw error;
    relay = await startRelay({ host, port: 0 });
  }
  return { relay, localUrl: `http://127.0.0.1:${relay.port}` };
}
