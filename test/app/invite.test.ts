// Invite links (src-shared/invite.ts, docs/INVITES.md): round trips, and malformed, oversized and
// hostile input, each refused with a clear error and never a partial invite.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  inviteLink,
  inviteText,
  MAX_INVITE_TEXT,
  parseInvite,
  type InviteParse,
} from '../../src-shared/invite';

const good = { relayUrl: 'https://relay.example.org:8443', room: 'launch plans', token: 's3cr3t' };

function error(result: InviteParse): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('parsed');
  expect(result).toEqual({
    ok: false,
    error: expect.stringMatching(/^Not a usable invite: .+\.$/),
  });
  expect(Object.keys(result).sort()).toEqual(['error', 'ok']);
  return result.error;
}

describe('invite links', () => {
  it('round-trips the link and the line of text, with and without a token', () => {
    expect(inviteLink(good)).toBe(
      'conclave://join?v=1&relay=https%3A%2F%2Frelay.example.org%3A8443&room=launch%20plans&token=s3cr3t',
    );
    expect(parseInvite(inviteLink(good))).toEqual({ ok: true, invite: { version: 1, ...good } });
    const text = inviteText(good);
    expect(text).toMatch(/^Join #launch plans on Conclave: conclave:\/\/join\?/);
    expect(text).not.toMatch(/\n/);
    expect(parseInvite(`  ${text}\n`)).toEqual({ ok: true, invite: { version: 1, ...good } });
    const open = { ...good, token: null };
    expect(parseInvite(inviteText(open))).toEqual({ ok: true, invite: { version: 1, ...open } });
  });

  it('round-trips any valid room name and token', () => {
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1, maxLength: 128 })
          .filter((s) => !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(s)),
        fc.option(fc.stringMatching(/^[\x21-\x7e]{1,64}$/), { nil: null }),
        (room, token) => {
          const invite = { relayUrl: 'http://127.0.0.1:7438', room, token };
          expect(parseInvite(inviteText(invite))).toEqual({
            ok: true,
            invite: { version: 1, ...invite },
          });
        },
      ),
    );
  });

  it('never throws on random input, and whatever it accepts is whole', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `conclave://join?${s}`),
        ),
        (s) => {
          const r = parseInvite(s);
          if (r.ok) {
            expect(r.invite.relayUrl.length).toBeGreaterThan(0);
            expect(r.invite.room.length).toBeGreaterThan(0);
          } else expect(r.error).toMatch(/^Not a usable invite/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['not text', 42, /not text/],
    ['no link', 'join ops on the relay', /should contain a link starting with conclave:\/\/join\?/],
    ['another scheme', 'https://join?v=1&relay=http%3A%2F%2Fa&room=x', /should contain a link/],
    ['no version', 'conclave://join?relay=http%3A%2F%2Fa&room=x', /no version/],
    [
      'newer version',
      'conclave://join?v=2&relay=http%3A%2F%2Fa&room=x',
      /newer Conclave .*version 2.*update/,
    ],
    ['version 0', 'conclave://join?v=0&relay=http%3A%2F%2Fa&room=x', /version 0 is unknown/],
    ['malformed version', 'conclave://join?v=1e3&relay=http%3A%2F%2Fa&room=x', /malformed version/],
    ['no relay', 'conclave://join?v=1&room=x', /no relay/],
    ['no room', 'conclave://join?v=1&relay=http%3A%2F%2Fa', /no room/],
    ['empty room', 'conclave://join?v=1&relay=http%3A%2F%2Fa&room=', /room name is empty/],
    [
      'javascript relay',
      'conclave://join?v=1&relay=javascript%3Aalert(1)&room=x',
      /must start with http/,
    ],
    [
      'file relay',
      'conclave://join?v=1&relay=file%3A%2F%2F%2Fetc%2Fpasswd&room=x',
      /must start with http/,
    ],
    [
      'relay with credentials',
      'conclave://join?v=1&relay=http%3A%2F%2Fu%3Ap%40a&room=x',
      /user name or password/,
    ],
    ['relay not a URL', 'conclave://join?v=1&relay=nope&room=x', /not a valid URL/],
    [
      'control character in room',
      'conclave://join?v=1&relay=http%3A%2F%2Fa&room=a%0Ab',
      /control characters/,
    ],
    [
      'bidi override in room',
      'conclave://join?v=1&relay=http%3A%2F%2Fa&room=a%E2%80%AEb',
      /control characters/,
    ],
    [
      'room too long',
      `conclave://join?v=1&relay=http%3A%2F%2Fa&room=${'r'.repeat(129)}`,
      /longer than 128/,
    ],
    [
      'token with a space',
      'conclave://join?v=1&relay=http%3A%2F%2Fa&room=x&token=a%20b',
      /printable ASCII/,
    ],
    ['empty token', 'conclave://join?v=1&relay=http%3A%2F%2Fa&room=x&token=', /token is empty/],
    [
      'token too long',
      `conclave://join?v=1&relay=http%3A%2F%2Fa&room=x&token=${'t'.repeat(513)}`,
      /longer than 512/,
    ],
    [
      'bad percent-encoding',
      'conclave://join?v=1&relay=http%3A%2F%2Fa&room=%E0%A4%A',
      /percent-encoding/,
    ],
    ['duplicated room', 'conclave://join?v=1&relay=http%3A%2F%2Fa&room=x&room=y', /"room" twice/],
    [
      'duplicated relay',
      'conclave://join?v=1&relay=http%3A%2F%2Fa&relay=http%3A%2F%2Fb&room=x',
      /"relay" twice/,
    ],
    ['parameter without value', 'conclave://join?v=1&relay&room=x', /malformed parameter/],
    ['two invites', `${inviteLink(good)} ${inviteLink(good)}`, /more than one/],
    [
      'too many parameters',
      `conclave://join?v=1&relay=http%3A%2F%2Fa&room=x${'&a=1'.repeat(8)}`,
      /too many parameters/,
    ],
    [
      'NUL in the link',
      'conclave://join?v=1&relay=http%3A%2F%2Fa&room=x\u0000',
      /control characters/,
    ],
  ])('refuses %s', (_name, input, message) => {
    expect(error(parseInvite(input))).toMatch(message);
  });

  it('refuses oversized text before looking into it', () => {
    const huge = `${inviteLink(good)}&pad=${'x'.repeat(MAX_INVITE_TEXT)}`;
    expect(error(parseInvite(huge))).toMatch(/at most 4096/);
    const big = 'a'.repeat(10_000_000);
    expect(error(parseInvite(big))).toMatch(/10000000 characters long/);
  });

  it('ignores parameters it does not know and the fragment, so version 1 can grow', () => {
    const r = parseInvite(`${inviteLink(good)}&hint=abc#frag`);
    expect(r).toEqual({ ok: true, invite: { version: 1, ...good } });
  });

  it('reads a prototype-polluting key as an unknown parameter', () => {
    const r = parseInvite(
      'conclave://join?v=1&relay=http%3A%2F%2Fa&room=x&__proto__=1&constructor=2',
    );
    expect(r).toEqual({
      ok: true,
      invite: { version: 1, relayUrl: 'http://a', room: 'x', token: null },
    });
    expect(({} as Record<string, unknown>)['v']).toBeUndefined();
  });
});

describe('invite links with a one-time admission secret (invite-only rooms)', () => {
  // 32 bytes as unpadded base64url: 43 characters, the last one's low bits zero.
  const secret = Buffer.from(new Uint8Array(32).map((_, i) => i * 7 + 3)).toString('base64url');
  const withSecret = { ...good, secret };

  it('round-trips the secret in the link and the line of text, still version 1', () => {
    expect(secret).toHaveLength(43);
    const link = inviteLink(withSecret);
    expect(link).toBe(`${inviteLink(good)}&secret=${secret}`);
    expect(parseInvite(link)).toEqual({ ok: true, invite: { version: 1, ...withSecret } });
    expect(parseInvite(inviteText(withSecret))).toEqual({
      ok: true,
      invite: { version: 1, ...withSecret },
    });
    // An invite without one has no secret field at all.
    const plain = parseInvite(inviteLink(good));
    expect(plain.ok && 'secret' in plain.invite).toBe(false);
  });

  it.each([
    ['too short', secret.slice(0, 42)],
    ['too long', `${secret}A`],
    ['standard base64 characters', `${secret.slice(0, 41)}+/`],
    ['padding', `${secret.slice(0, 42)}=`],
    ['non-zero trailing bits (not 32 bytes)', `${secret.slice(0, 42)}B`],
    ['empty', ''],
    ['spaces', `${secret.slice(0, 40)}   `],
    ['a script', '<script>alert(1)</script>'],
    ['an oversized value', 'A'.repeat(3000)],
  ])('refuses a malformed secret: %s', (_name, bad) => {
    const link = `${inviteLink(good)}&secret=${encodeURIComponent(bad)}`;
    const r = parseInvite(link);
    if (link.length > MAX_INVITE_TEXT) {
      expect(error(r)).toMatch(/characters long/);
    } else {
      expect(error(r)).toMatch(/invite secret is malformed/);
    }
  });

  it('refuses a secret named twice and a percent-encoded control character', () => {
    expect(error(parseInvite(`${inviteLink(withSecret)}&secret=${secret}`))).toMatch(
      /names "secret" twice/,
    );
    expect(error(parseInvite(`${inviteLink(good)}&secret=%00${secret.slice(1)}`))).toMatch(
      /malformed|control/,
    );
  });

  it('never returns a partial invite for random secrets', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const r = parseInvite(`${inviteLink(good)}&secret=${encodeURIComponent(s)}`);
        if (r.ok) {
          expect(r.invite.secret).toBe(s);
          expect(Buffer.from(s, 'base64url')).toHaveLength(32);
          expect(Buffer.from(s, 'base64url').toString('base64url')).toBe(s);
        }
      }),
      { numRuns: 2000, seed: 14 },
    );
  });
});
