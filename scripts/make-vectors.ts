// Writes test/vectors/derivations.json. Run once; the vectors are then frozen: a change to any
// derivation is a protocol version change, not a vector update.
import { writeFileSync } from 'node:fs';
import { loadBackend } from '../src-main/protocol/sodium-backend';
import { computeVectors } from '../src-main/sim/vectors';

const vectors = computeVectors(await loadBackend('wasm'));
writeFileSync('test/vectors/derivations.json', JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${Object.keys(vectors).length} vectors`);
