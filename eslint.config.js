// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';

const impure = ['Date.now', 'Math.random'].map((callee) => {
  const [object, property] = callee.split('.');
  return {
    selector: `CallExpression[callee.object.name='${object}'][callee.property.name='${property}']`,
    message: `${callee}() is impure: time and randomness come in through events.`,
  };
});

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
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
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
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'ioredis', message: 'Only src/store/redis/** talks to Redis.' }] },
      ],
    },
  },
  {
    files: ['src/actors/**', 'src/placement/**', 'src/domain/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...impure,
        { selector: "NewExpression[callee.name='Date']", message: 'new Date() is impure.' },
        {
          selector: 'CallExpression[callee.name=/^set(Timeout|Interval|Immediate)$/]',
          message: 'Timers come from the injected Timers.',
        },
        { selector: "Identifier[name='process']", message: 'process belongs to main.ts.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gen/**', '@grpc/*', 'ioredis'],
              message: 'The core knows no wire types.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**', 'statecharts/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  prettier,
);
