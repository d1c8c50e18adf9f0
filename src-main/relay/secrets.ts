// Secrets (the access token, resume tokens) are only ever stored and compared as SHA-256
// digests, and compared in constant time so response timing reveals nothing about them.
import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time equality of two digests (false, not a throw, on a length mismatch). */
export function sameSecret(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
