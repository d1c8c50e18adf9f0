import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../src-main/protocol/sodium-backend';
import { computeVectors } from '../../src-main/sim/vectors';

const frozen = JSON.parse(readFileSync('test/vectors/derivations.json', 'utf8')) as Record<
  string,
  string
>;

describe('known-answer vectors', () => {
  for (const name of ['wasm', 'native'] as const) {
    it(`the ${name} backend reproduces every frozen vector`, async () => {
      const backend = await loadBackend(name);
      expect(backend.name).toBe(name);
      const now = computeVectors(backend);
      for (const [key, value] of Object.entries(frozen))
        expect([key, now[key]]).toEqual([key, value]);
      await loadBackend();
    });
  }

  it('both sides of a triple DH and every ring position agree', () => {
    expect(frozen['tdhAliceBob']).toBe(frozen['tdhBobAlice']);
    expect(frozen['sessionKeyFrom0']).toBe(frozen['sessionKeyFrom1']);
    expect(frozen['fingerprintAlice']).toMatch(/^(\d{5} ){5}\d{5}$/);
  });
});
