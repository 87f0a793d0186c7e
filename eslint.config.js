import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'src/generated/', 'var/', '.cache/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        AbortSignal: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
        Response: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Tests wait for conditions, never for time (test/support/wait.ts: waitFor, and simulatedWork for
    // slowness the code under test must cope with). A watchdog that only bounds a wait may disable
    // the rule on its line, saying so.
    files: ['test/**/*.ts'],
    ignores: ['test/support/wait.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.name=/^set(Timeout|Interval)$/]',
          message:
            'No fixed sleeps in tests: wait for the condition with waitFor() (test/support/wait.ts); simulatedWork() for slowness under test.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:timers/promises', message: 'No fixed sleeps in tests: waitFor() from test/support/wait.ts.' },
            { name: 'timers/promises', message: 'No fixed sleeps in tests: waitFor() from test/support/wait.ts.' },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's script runs in the browser (src/admin/assets, served as is).
    files: ['src/admin/assets/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        sessionStorage: 'readonly',
        Node: 'readonly',
        URLSearchParams: 'readonly',
        confirm: 'readonly',
        TextDecoderStream: 'readonly',
      },
    },
  },
);
