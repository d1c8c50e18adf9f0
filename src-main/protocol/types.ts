// Branded primitive types shared by the whole engine. A brand makes it a compile error to pass a
// nick where a sid is expected; the runtime value is the plain string/number/bytes underneath.

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Session id: 32 bytes, hex-encoded so it can key maps and appear in logs. */
export type Sid = Brand<string, 'Sid'>;
/** A room member's nick as the relay knows it. */
export type Nick = Brand<string, 'Nick'>;
/** The relay's per-room sequence number. */
export type Seq = Brand<number, 'Seq'>;
/** A participant's position in a session's sorted participant list. */
export type Index = Brand<number, 'Index'>;

export const asSid = (s: string): Sid => s as Sid;
export const asNick = (s: string): Nick => s as Nick;
export const asSeq = (n: number): Seq => n as Seq;
export const asIndex = (n: number): Index => n as Index;

/** A participant id `U = (nick, long-term public key)` plus the session ephemeral `E`. */
export interface Participant {
  readonly nick: Nick;
  readonly lt: Uint8Array;
  readonly eph: Uint8Array;
}

/** Ed25519 key pair; `secretKey` is libsodium's 64-byte form (seed || public key). */
export interface SignKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytewise comparison, used for the participant order (nicks as UTF-8) and the triple-DH order. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
