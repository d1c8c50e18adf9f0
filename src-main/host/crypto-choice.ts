// The hosts' way to pick the libsodium binding: CONCLAVE_CRYPTO=wasm forces the WebAssembly build
// (the reference, and what runs where the native prebuild cannot load); anything else, or nothing,
// leaves the default (native where it loads). The protocol folder never reads the environment.
import type { CryptoBackendChoice } from '../protocol/crypto';

export function cryptoBackendFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): CryptoBackendChoice | undefined {
  const value = env['CONCLAVE_CRYPTO'];
  return value === 'wasm' || value === 'native' ? value : undefined;
}
