// Invites (docs/INVITES.md): what a member hands a teammate so they can ask to join a room. An
// invite names the relay, the room and, for a token-protected relay, its access token. It holds
// no key material: whoever holds it can ask to join, and the members see each joiner's
// fingerprint. An invite to an invite-only room also carries a one-time admission secret (an
// Ed25519 seed whose public key a member announced in the room; docs/PROTOCOL.md "Admission
// policy"): it proves the request was invited, and is still no key material of the room. Pure code shared by the main process (protocol handler, web host flag) and the
// renderer (the "Paste an invite" field); parsing never returns a partial invite.

export const INVITE_VERSION = 1;
export const INVITE_PREFIX = 'conclave://join?';
/** Longest text the parser looks at: a real invite is a few hundred characters. */
export const MAX_INVITE_TEXT = 4096;
export const MAX_RELAY_URL = 2048;
export const MAX_ROOM = 128;
export const MAX_TOKEN = 512;

export interface Invite {
  version: typeof INVITE_VERSION;
  relayUrl: string;
  room: string;
  /** The relay's access token, for a token-protected relay. */
  token: string | null;
  /**
   * The one-time admission secret of an invite-only room: 32 bytes as unpadded base64url (43
   * characters). Absent from invites that carry none.
   */
  secret?: string;
}

export const SECRET_LENGTH = 43;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** Checks an invite secret's shape (32 bytes, base64url). Null when it is fine. */
export function secretProblem(secret: string): string | null {
  if (!SECRET.test(secret)) return 'the invite secret is malformed (32 bytes in base64url)';
  // 43 characters hold 258 bits: the last character's low 2 bits must be zero.
  if (!/[AEIMQUYcgkosw048]$/.test(secret)) return 'the invite secret is malformed';
  return null;
}

export type InviteParse = { ok: true; invite: Invite } | { ok: false; error: string };

const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const TOKEN = /^[\x21-\x7e]+$/;
const KNOWN = new Set(['v', 'relay', 'room', 'token', 'secret']);

function enc(value: string): string {
  return encodeURIComponent(value);
}

/** The `conclave://join?...` link. */
export function inviteLink(invite: Omit<Invite, 'version'>): string {
  const parts = [
    `v=${INVITE_VERSION}`,
    `relay=${enc(invite.relayUrl)}`,
    `room=${enc(invite.room)}`,
  ];
  if (invite.token) parts.push(`token=${enc(invite.token)}`);
  if (invite.secret) parts.push(`secret=${enc(invite.secret)}`);
  return `${INVITE_PREFIX}${parts.join('&')}`;
}

/** One line to paste into a chat or an e-mail; the parser finds the link inside it. */
export function inviteText(invite: Omit<Invite, 'version'>): string {
  return `Join #${invite.room} on Conclave: ${inviteLink(invite)}`;
}

/** Checks a relay URL the way an invite and the join form need it. Null when it is fine. */
export function relayUrlProblem(url: string): string | null {
  if (url.length === 0) return 'the relay URL is empty';
  if (url.length > MAX_RELAY_URL) return `the relay URL is longer than ${MAX_RELAY_URL} characters`;
  if (CONTROL.test(url) || /\s/.test(url))
    return 'the relay URL contains spaces or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the relay URL is not a valid URL';
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    return 'the relay URL must start with http://, https://, ws:// or wss://';
  }
  if (parsed.username || parsed.password)
    return 'the relay URL must not carry a user name or password';
  if (!parsed.hostname) return 'the relay URL has no host';
  return null;
}

export function roomNameProblem(room: string): string | null {
  if (room.length === 0) return 'the room name is empty';
  if (room.length > MAX_ROOM) return `the room name is longer than ${MAX_ROOM} characters`;
  if (CONTROL.test(room)) return 'the room name contains control characters';
  return null;
}

export function tokenProblem(token: string): string | null {
  if (token.length === 0) return 'the access token is empty';
  if (token.length > MAX_TOKEN) return `the access token is longer than ${MAX_TOKEN} characters`;
  if (!TOKEN.test(token)) return 'the access token may only contain printable ASCII, no spaces';
  return null;
}

const fail = (error: string): InviteParse => ({
  ok: false,
  error: `Not a usable invite: ${error}.`,
});

/**
 * Parses pasted text (the link alone, or the line `inviteText` makes) or a link handed to the
 * app by the OS. Either the whole invite is valid, or the result is an error saying why.
 */
export function parseInvite(text: unknown): InviteParse {
  if (typeof text !== 'string') return fail('it is not text');
  if (text.length > MAX_INVITE_TEXT) {
    return fail(`it is ${text.length} characters long, at most ${MAX_INVITE_TEXT} are allowed`);
  }
  const at = text.toLowerCase().indexOf(INVITE_PREFIX);
  if (at < 0) return fail(`it should contain a link starting with ${INVITE_PREFIX}`);
  if (text.toLowerCase().indexOf(INVITE_PREFIX, at + 1) >= 0) {
    return fail('it contains more than one invite link');
  }
  const rest = text.slice(at + INVITE_PREFIX.length);
  const query = rest.split(/\s/, 1)[0] ?? '';
  if (CONTROL.test(query)) return fail('the link contains control characters');
  const hash = query.indexOf('#');
  const params = new Map<string, string>();
  const pairs = (hash >= 0 ? query.slice(0, hash) : query).split('&').filter((p) => p !== '');
  if (pairs.length > 8) return fail('the link has too many parameters');
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return fail(`the link has a malformed parameter "${pair.slice(0, 20)}"`);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(pair.slice(0, eq));
      value = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return fail('the link has malformed percent-encoding');
    }
    if (!KNOWN.has(key)) continue; // a later minor addition; version 1 readers ignore it
    if (params.has(key)) return fail(`the link names "${key}" twice`);
    params.set(key, value);
  }
  const version = params.get('v');
  if (version === undefined) return fail('the link has no version (v=)');
  if (!/^[0-9]{1,4}$/.test(version)) return fail('the link has a malformed version');
  if (Number(version) > INVITE_VERSION) {
    return fail(
      `it was made by a newer Conclave (invite version ${Number(version)}); update the app`,
    );
  }
  if (Number(version) !== INVITE_VERSION) return fail(`invite version ${version} is unknown`);
  const relayUrl = params.get('relay');
  if (relayUrl === undefined) return fail('the link names no relay');
  const relayError = relayUrlProblem(relayUrl);
  if (relayError) return fail(relayError);
  const room = params.get('room');
  if (room === undefined) return fail('the link names no room');
  const roomError = roomNameProblem(room);
  if (roomError) return fail(roomError);
  const token = params.get('token');
  if (token !== undefined) {
    const tokenError = tokenProblem(token);
    if (tokenError) return fail(tokenError);
  }
  const secret = params.get('secret');
  if (secret !== undefined) {
    const secretError = secretProblem(secret);
    if (secretError) return fail(secretError);
  }
  return {
    ok: true,
    invite: {
      version: INVITE_VERSION,
      relayUrl,
      room,
      token: token ?? null,
      ...(secret !== undefined ? { secret } : {}),
    },
  };
}
