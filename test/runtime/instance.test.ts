import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { redactUrl, resolveDatabase, writeInstance, INSTANCE_FILE } from '../../src/runtime/instance.ts';

const withVar = () => mkdtempSync(join(tmpdir(), 'var-'));

test('which database a command uses, and the reason it says', async (t) => {
  const started = withVar();
  const empty = withVar();
  t.after(() => [started, empty].forEach((d) => rmSync(d, { recursive: true, force: true })));
  writeInstance(started, { databaseUrl: 'postgres://postgres:pw@127.0.0.1:5999/postgres', pid: 1, startedAt: '' });

  const cases: [
    what: string,
    configured: string | undefined,
    env: Record<string, string>,
    url: string,
    source: RegExp,
  ][] = [
    [
      'DATABASE_URL wins over npm start',
      'postgres://a@db/x',
      { DATABASE_URL: 'postgres://a@db/x', MAGENTO_ASYNC_VAR_DIR: started },
      'postgres://a@db/x',
      /^DATABASE_URL$/,
    ],
    [
      'databaseUrl of a config file',
      'postgres://b@db/y',
      { MAGENTO_ASYNC_VAR_DIR: started },
      'postgres://b@db/y',
      /^databaseUrl in \/etc\/x\.json$/,
    ],
    [
      "npm start's database when nothing is configured",
      undefined,
      { MAGENTO_ASYNC_VAR_DIR: started },
      'postgres://postgres:pw@127.0.0.1:5999/postgres',
      /^npm start's database \(.*instance\.json\)$/,
    ],
    [
      'the local default otherwise',
      undefined,
      { MAGENTO_ASYNC_VAR_DIR: empty },
      'postgres://postgres@127.0.0.1:5432/test',
      /^the default/,
    ],
  ];
  for (const [what, databaseUrl, env, url, source] of cases) {
    const resolved = resolveDatabase({ databaseUrl, configFile: '/etc/x.json' }, env);
    assert.equal(resolved.url, url, what);
    assert.match(resolved.source, source, what);
  }
  // It holds the embedded server's password.
  assert.equal(statSync(join(started, INSTANCE_FILE)).mode & 0o777, 0o600);
});

test('printed URLs never show a password', () => {
  assert.equal(redactUrl('postgres://postgres:s3cr%2Ft@127.0.0.1:5432/x'), 'postgres://postgres:***@127.0.0.1:5432/x');
  assert.equal(redactUrl('postgres://postgres@127.0.0.1:5432/x'), 'postgres://postgres@127.0.0.1:5432/x');
});
