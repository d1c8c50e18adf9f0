// A small reproducible generator for the simulator's schedules and interleavings (never keys):
// a 31-multiplier string hash of the seed, then xorshift32.
export function xorshift(seed: string): () => number {
  let x = 0;
  for (const ch of seed) x = (Math.imul(x, 31) + ch.charCodeAt(0)) >>> 0;
  let state = x || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}
