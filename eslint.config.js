import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

// The floors (docs/ARCHITECTURE.md). src-main/protocol/ is the sans-I/O engine: no Node module,
// no package that talks to a disk, a socket or a process, no process/timers globals. Time,
// randomness and the network come in as arguments or injected interfaces.
const IO_PACKAGES = [
  'better-sqlite3',
  'electron',
  'ioredis',
  'pino',
  'prom-client',
  'socket.io',
  'socket.io-client',
  'ws',
];
const NODE_BUILTINS = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'inspector',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'timers/promises',
  'tls',
  'tty',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];
const protocolImports = (allowedNode = []) => [
  'error',
  {
    paths: [...IO_PACKAGES, ...NODE_BUILTINS].map((name) => ({
      name,
      message: 'src-main/protocol/ does no I/O: pass what it needs in from the client or a host.',
    })),
    patterns: [
      {
        group: ['node:*', ...allowedNode.map((name) => `!node:${name}`)],
        message: 'src-main/protocol/ does no I/O: pass what it needs in from the client or a host.',
      },
      {
        group: [
          '**/client/**',
          '**/relay/**',
          '**/store/**',
          '**/host/**',
          '**/web/**',
          '**/ipc/**',
        ],
        message: 'src-main/protocol/ is the bottom floor: it imports nothing above it.',
      },
    ],
  },
];
const IO_GLOBALS = [
  'process',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'fetch',
  'require',
  'WebSocket',
  'XMLHttpRequest',
].map((name) => ({
  name,
  message: 'src-main/protocol/ has no clock, timers or process: the host passes them in.',
}));
const NOT_FROM_MAIN = {
  group: ['**/src-main/**', 'electron', 'node:*'],
  message: 'The renderer and src-shared run without Node: share code through src-shared/.',
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'coverage/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['src-renderer/**/*.{ts,svelte}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    files: ['scripts/**', 'bench/**', 'test/**', 'src-main/**/cli.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['src-main/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': protocolImports(),
      'no-restricted-globals': ['error', ...IO_GLOBALS],
    },
  },
  {
    // Loading the native libsodium binding is the one module load the protocol does.
    files: ['src-main/protocol/sodium-backend.ts'],
    rules: { 'no-restricted-imports': protocolImports(['module']) },
  },
  {
    files: ['src-renderer/**/*.{ts,svelte}', 'src-shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NOT_FROM_MAIN] }] },
  },
  {
    // Functions a reader takes in at once. The simulator's invariant checks are not held to it
    // yet; tests, benches and scripts are not.
    files: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-preload/**/*.ts'],
    ignores: ['src-main/sim/**'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
);
