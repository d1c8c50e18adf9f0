// What went wrong when a relay cannot be reached, in words a user can act on. Socket.IO reports
// every transport failure as "websocket error"; the cause (a TLS verdict, ECONNREFUSED, a DNS
// failure) sits in the error's description, which is where we look.
import type { RoomFailure } from '../../src-shared/api';

/** How long a link tries to reach its relay before it gives up and says so. */
export const DEFAULT_GIVE_UP_MS = 12_000;

interface Cause {
  codes: string[];
  messages: string[];
}

function causes(error: unknown, depth = 0, out: Cause = { codes: [], messages: [] }): Cause {
  if (depth > 4 || error === null || typeof error !== 'object') return out;
  const e = error as Record<string, unknown>;
  if (typeof e['code'] === 'string') out.codes.push(e['code']);
  if (typeof e['message'] === 'string' && e['message'] !== '') out.messages.push(e['message']);
  for (const key of ['description', 'error', 'cause', 'context']) causes(e[key], depth + 1, out);
  return out;
}

const TLS_CODE =
  /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME_MISMATCH/;
const TLS_TEXT = /certificate|self[- ]signed|ssl|tls/i;

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** A TLS failure (reported at once: retrying will not fix a certificate), or null. */
export function tlsFailure(url: string, error: unknown): RoomFailure | null {
  const c = causes(error);
  const tls =
    c.codes.some((code) => TLS_CODE.test(code)) || c.messages.some((m) => TLS_TEXT.test(m));
  if (!tls) return null;
  const detail = c.messages.find((m) => m !== 'websocket error') ?? c.codes[0] ?? 'TLS error';
  return {
    kind: 'tls',
    message:
      `The secure connection to the relay at ${hostOf(url)} failed: ${detail}. ` +
      `Check the relay's certificate (or its address).`,
  };
}

/** A short reason for a connection error, for the "cannot reach" message. */
export function connectErrorText(error: unknown): string {
  const c = causes(error);
  const code = c.codes.find((x) => /^E[A-Z]+$/.test(x));
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name is not known';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host';
    default:
      return c.messages.find((m) => m !== 'websocket error') ?? c.messages[0] ?? 'no answer';
  }
}

export function unreachableFailure(url: string, lastError: string, afterMs: number): RoomFailure {
  return {
    kind: 'unreachable',
    message:
      `Cannot reach the relay at ${hostOf(url)} (${lastError}; tried for ` +
      `${Math.round(afterMs / 1000)} s). Check the address and your connection, then retry.`,
  };
}

export function authFailure(url: string, hadToken: boolean): RoomFailure {
  return {
    kind: 'auth',
    message: hadToken
      ? `The relay at ${hostOf(url)} refused the access token: it is wrong. Enter your team's token and retry.`
      : `The relay at ${hostOf(url)} needs an access token. Enter your team's token and retry.`,
  };
}
