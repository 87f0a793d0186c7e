import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SLEEP =
  'No fixed sleeps in tests: wait for the condition with waitFor() (test/support/wait.ts); simulatedWork() for slowness under test.';

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
    // Every way of pausing a test for a time is refused (test/no-fixed-sleeps.test.ts lists them).
    files: ['test/**/*.{ts,js,mjs,cjs}'],
    ignores: ['test/support/wait.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.name=/^set(Timeout|Interval)$/]',
          message: SLEEP,
        },
        {
          // globalThis.setTimeout(…), timers.setInterval(…)
          selector: 'CallExpression[callee.property.name=/^set(Timeout|Interval)$/]',
          message: SLEEP,
        },
        {
          // await once(AbortSignal.timeout(200), 'abort'): a sleep spelled as an event.
          selector:
            "CallExpression[callee.name='once'] > CallExpression.arguments[callee.object.name='AbortSignal'][callee.property.name='timeout']",
          message: SLEEP,
        },
        {
          // Blocks the whole thread for a time.
          selector: "CallExpression[callee.object.name='Atomics'][callee.property.name='wait']",
          message: SLEEP,
        },
        {
          // execSync('sleep 1'), spawn('sleep', …)
          selector:
            'CallExpression[callee.name=/^(exec|execSync|execFile|execFileSync|spawn|spawnSync)$/] > Literal.arguments[value=/^sleep\\b/]',
          message: SLEEP,
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:timers/promises', message: SLEEP },
            { name: 'timers/promises', message: SLEEP },
            {
              name: 'node:timers',
              importNames: ['setTimeout', 'setInterval'],
              message: SLEEP,
            },
            {
              name: 'timers',
              importNames: ['setTimeout', 'setInterval'],
              message: SLEEP,
            },
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
