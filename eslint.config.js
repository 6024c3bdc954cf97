// @ts-check
/**
 * Lint rules. The layer boundaries themselves are enforced by dependency-cruiser (`npm run
 * deps:check`, .dependency-cruiser.cjs); the import rules here give the same message in the editor
 * for its two most common cases (deep `gen/` imports and `ioredis`).
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';
import globals from 'globals';

/**
 * Where generated protocol code may be imported: the gRPC edges, the simulators, the client
 * commands (they are a gRPC client of the scheduler), the roots, tests.
 */
const GEN_ALLOWED = [
  'src/api/**',
  'src/agent/**',
  'src/chainer/**',
  'src/wire/**',
  'src/sim/**',
  'src/cli/**',
  'src/app.ts',
  'src/app/**',
  'src/main.ts',
  'test/**',
  'bench/**',
];
/** Where ioredis may be imported (tests and benchmarks may use it too, to manage their keys). */
const IOREDIS_ALLOWED = ['src/store/redis/**'];
/** Pure code: no clock, randomness, timers or process. */
const CORE = ['src/actors/**', 'src/placement/**', 'src/domain/**'];

const noGen = {
  group: ['**/gen/**', '**/gen'],
  message: 'Generated protocol code stays at the edges: map it to domain types in api/ or agent/.',
};
const noIoredis = {
  group: ['ioredis', 'ioredis/**'],
  message: 'Only src/store/redis/** talks to Redis: depend on the SnapshotStore port instead.',
};
const noGrpc = {
  group: ['@grpc/*'],
  message: 'The core knows no transport: gRPC belongs to api/ and agent/.',
};
const noNodeOrXstate = {
  group: ['node:*', 'xstate', 'xstate/**'],
  message: 'domain/ is pure vocabulary: no Node built-ins and no xstate.',
};

/** @param {...{ group: string[], message: string }} patterns */
const restrictImports = (...patterns) => ({
  'no-restricted-imports': /** @type {const} */ (['error', { patterns }]),
});

/** Same member access, as a call or a reference (`const now = Date.now`). */
const member = (/** @type {string} */ object, /** @type {string} */ property, message = '') => ({
  selector: `MemberExpression[object.name='${object}'][property.name='${property}']`,
  message: `${object}.${property} is impure${message}`,
});
const notAPropertyName =
  ':not(MemberExpression > Identifier.property):not(Property > Identifier.key)';
const impure = [
  member('Date', 'now', ': time comes in with the event (`at`).'),
  member('Math', 'random', ': randomness comes in through input.'),
  {
    selector: "NewExpression[callee.name='Date'], CallExpression[callee.name='Date']",
    message: 'Date is impure: time comes in with the event (`at`).',
  },
  {
    selector: `Identifier[name=/^(set|clear)(Timeout|Interval|Immediate)$/]${notAPropertyName}`,
    message: 'Timers are impure: use `after` with named delays, or the injected Timers.',
  },
  {
    selector: `Identifier[name='process']${notAPropertyName}`,
    message: 'process belongs to main.ts: pass configuration in.',
  },
];

export default defineConfig(
  {
    ignores: [
      'src/gen/**',
      'dist/**',
      'node_modules/**',
      'statecharts/*.json',
      '.mlsched/**',
      '.dependency-cruiser.cjs',
    ],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe()/it() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      'no-console': 'error',
      ...restrictImports(noGen, noIoredis),
    },
  },
  // Later blocks replace `no-restricted-imports` for the files they match (options do not merge).
  { files: GEN_ALLOWED, rules: restrictImports(noIoredis) },
  { files: IOREDIS_ALLOWED, rules: restrictImports(noGen) },
  { files: ['test/**', 'bench/**'], rules: { 'no-restricted-imports': 'off' } },
  {
    files: CORE,
    rules: {
      'no-restricted-syntax': ['error', ...impure],
      ...restrictImports(noGen, noIoredis, noGrpc),
    },
  },
  { files: ['src/domain/**'], rules: restrictImports(noGen, noIoredis, noGrpc, noNodeOrXstate) },
  {
    // Tests poke at results they just asserted on (`!`), and drive the untyped clients that
    // @grpc/proto-loader builds at run time (health, reflection), whose members are all `any`.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Plain JavaScript run by node as it is: the command's launcher and the bench's bare server.
    files: ['bin/*.js', 'bench/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // The dashboard's page script runs in the browser as it is, without types or a build step.
    files: ['src/http/dashboard/static/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
  },
  prettier,
);
