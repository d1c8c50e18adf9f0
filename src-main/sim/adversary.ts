// Misbehaving participants for the simulator and the accountability tests (issue 11): each is a
// transform of what one client sends, producing well-signed but wrong frames, as a malicious
// member or joiner (not a forging relay) can.
import { decodeBody, encodeFrame, MessageType, parseFrame } from '../protocol/codec';
import { asSid, toHex } from '../protocol/types';
import type { SimClient } from './relay';
import { resign } from './relay';

export const ADVERSARY_KINDS = [
  'veto',
  'bad-share',
  'bad-confirm',
  'no-confirm',
  'liar-joiner',
  'liar-member',
  'drop',
] as const;
export type AdversaryKind = (typeof ADVERSARY_KINDS)[number];

/** The participant-side adversaries (`drop` is the relay's, see SimClient.drop). */
export function adversaryTamper(
  kind: Exclude<AdversaryKind, 'drop'>,
  c: SimClient,
): (data: Uint8Array) => Uint8Array | null {
  switch (kind) {
    case 'veto':
      return (data) => (data[1] === MessageType.PARTICIPANTS_INFO ? vetoInstead(c, data) : data);
    case 'bad-share':
      return (data) =>
        data[1] === MessageType.PARTICIPANTS_INFO ||
        data[1] === MessageType.GROUP_SHARE ||
        data[1] === MessageType.JOINER_AUTH
          ? flip(c, data, 'z')
          : data;
    case 'bad-confirm':
      return (data) =>
        data[1] === MessageType.SESSION_CONFIRMATION && !isGenesis(data)
          ? flip(c, data, 'conf')
          : data;
    case 'no-confirm':
      return (data) =>
        data[1] === MessageType.SESSION_CONFIRMATION && !isGenesis(data) ? null : data;
    case 'liar-member':
      // As a member: a wrong token to every joiner (PARTICIPANTS_INFO's kc, or a batch's kcs).
      return (data) =>
        data[1] !== MessageType.PARTICIPANTS_INFO
          ? data
          : resign(c, data, (body) => {
              const tokens = body['kc']
                ? [body['kc'] as Uint8Array]
                : (body['kcs'] as (Uint8Array | null)[]);
              for (const kc of tokens) if (kc) kc[0] = (kc[0] as number) ^ 0xff;
            });
    case 'liar-joiner':
      // As a joiner: a wrong token for the last member in the list (a minority of one).
      return (data) =>
        data[1] !== MessageType.JOINER_AUTH
          ? data
          : resign(c, data, (body) => {
              const kcs = body['kcs'] as (Uint8Array | null)[];
              const victim = kcs.findLastIndex((k) => k !== null);
              const k = kcs[victim];
              if (k) k[0] = (k[0] as number) ^ 0xff;
            });
  }
}

/** One bit of a field flipped, re-signed with the sender's own key: well-signed, wrong. */
export function flip(c: SimClient, data: Uint8Array, field: 'z' | 'conf'): Uint8Array {
  return resign(c, data, (body) => {
    const v = body[field] as Uint8Array;
    v[0] = (v[0] as number) ^ 1;
  });
}

/** Instead of its contribution to a join session, a TIMEOUT vetoing that session's joiner. */
export function vetoInstead(c: SimClient, data: Uint8Array, joiner?: string): Uint8Array {
  const parsed = parseFrame(data);
  const current = c.engine.current;
  const own = current?.own;
  if (!parsed.ok || !current || !own) return data;
  const session = c.engine.sessions.get(asSid(toHex(parsed.value.sid as Uint8Array)));
  const accused = joiner ?? session?.joiner ?? session?.joiners[0];
  if (!accused) return data;
  return encodeFrame(
    c.crypto,
    'TIMEOUT',
    current.sidBytes,
    { index: own.index, stalled: parsed.value.sid as Uint8Array, accused: [accused], veto: true },
    own.eph.secretKey,
  );
}

/** A joiner's complaint, signed in its join session, instead of its JOINER_AUTH. */
export function complaintInstead(c: SimClient, data: Uint8Array, member: string): Uint8Array {
  const parsed = parseFrame(data);
  if (!parsed.ok || parsed.value.type !== 'JOINER_AUTH') return data;
  const session = c.engine.sessions.get(asSid(toHex(parsed.value.sid as Uint8Array)));
  const own = session?.own;
  if (!session || !own) return data;
  return encodeFrame(
    c.crypto,
    'TIMEOUT',
    session.sidBytes,
    { index: own.index, stalled: session.sidBytes, accused: [member], veto: true },
    own.eph.secretKey,
  );
}

function isGenesis(data: Uint8Array): boolean {
  const parsed = parseFrame(data);
  if (!parsed.ok) return false;
  const body = decodeBody(parsed.value, 'SESSION_CONFIRMATION');
  return body.ok && body.value.genesis !== undefined;
}
