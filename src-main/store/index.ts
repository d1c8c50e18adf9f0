// The storage layer: one SQLite database per profile (see docs/STORAGE.md).
export { openStore, probeStore, moveAsideCorrupt } from './open';
export type { OpenStoreOptions, StoreProbe } from './open';
export { Store } from './store';
export { passphraseProtector, safeStorageProtector, DEFAULT_ARGON2_PARAMS } from './protectors';
export type { KeyProtector, SafeStorageLike, Argon2Params } from './protectors';
export { SCHEMA_VERSION } from './migrations';
export * from './errors';
export type * from './types';
