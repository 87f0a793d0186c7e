import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/auth/tokens.ts';
import { formatTable } from '../../src/commands/infra.ts';
import { createTestDatabase } from '../support/db.ts';
import { run } from '../support/cli.ts';

test('infra commands against a real schema', async (t) => {
  const db = await createTestDatabase('cli_infra');
  t.after(() => db.drop());
  const env = { DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema };

  await t.test('setup:upgrade on a current schema', async () => {
    const r = await run(env, ['setup:upgrade']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Schema "${db.schema}" is up to date.\n`);
  });

  await t.test('setup:upgrade on an empty schema applies the migrations', async (t2) => {
    const schema = `${db.schema}_fresh`;
    t2.after(() => db.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    const r = await run({ ...env, MAGENTO_ASYNC_SCHEMA: schema }, ['setup:upgrade']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Applied to schema "${schema}":\\n  001_init\\.sql\\n`));
  });

  await t.test('store:create and store:list', async () => {
    const created = await run(env, ['store:create', '--code', 'de', '--name', 'German', '--website-id', '2']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created store view "de" with id 2\./);

    const table = await run(env, ['store:list']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(
      table.stdout,
      [
        'ID  Code     Name                Website ID  Active',
        '--  -------  ------------------  ----------  ------',
        '0   admin    Admin               0           yes',
        '1   default  Default Store View  1           yes',
        '2   de       German              2           yes',
        '',
      ].join('\n'),
    );

    const json = await run(env, ['store:list', '--json']);
    assert.deepEqual(JSON.parse(json.stdout)[2], { id: 2, code: 'de', name: 'German', websiteId: 2, isActive: true });
  });

  await t.test('store:create errors', async (t2) => {
    const cases: { argv: string[]; stderr: RegExp }[] = [
      { argv: ['store:create', '--code', 'de', '--name', 'Again'], stderr: /already exists/ },
      { argv: ['store:create', '--code', 'all', '--name', 'x'], stderr: /reserved/ },
      { argv: ['store:create', '--code', 'Bad-Code', '--name', 'x'], stderr: /invalid/ },
      { argv: ['store:create', '--name', 'x'], stderr: /required option '--code <code>'/ },
      { argv: ['store:create', '--code', 'x', '--name', 'x', '--website-id', 'abc'], stderr: /positive integer/ },
    ];
    for (const c of cases) {
      await t2.test(c.argv.join(' '), async () => {
        const r = await run(env, c.argv);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, c.stderr);
      });
    }
  });

  await t.test('integration:token:create prints the token as its last line', async (t2) => {
    const cases: { argv: string[]; userResources: unknown }[] = [
      { argv: ['--name', 'ERP', '--resources', 'all'], userResources: 'all' },
      {
        argv: ['--name', 'PIM', '--resources', 'Magento_Catalog::products, Magento_Cms::page'],
        userResources: new Set(['Magento_Catalog::products', 'Magento_Cms::page']),
      },
    ];
    for (const c of cases) {
      await t2.test(c.argv.join(' '), async () => {
        const r = await run(env, ['integration:token:create', ...c.argv]);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trimEnd().split('\n');
        assert.ok(lines.length >= 2, 'an explanation comes first');
        const token = lines.at(-1)!;
        assert.match(token, /^[A-Za-z0-9_-]{43}$/);
        const caller = await authenticate(db.pool, db.schema, `Bearer ${token}`);
        assert.equal(caller.userType, 1);
        assert.deepEqual(caller.resources, c.userResources);
      });
    }
  });

  await t.test(
    'integration:token:create requires --resources: a forgotten flag must not grant everything',
    async () => {
      const r = await run(env, ['integration:token:create', '--name', 'ERP']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /required option '--resources <list>' not specified/);
    },
  );

  await t.test('integration:token:revoke', async () => {
    const created = await run(env, ['integration:token:create', '--name', 'temp', '--resources', 'all']);
    const id = /#(\d+)/.exec(created.stdout)![1]!;
    const r = await run(env, ['integration:token:revoke', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Revoked integration token #${id}.\n`);
    const again = await run(env, ['integration:token:revoke', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No active integration token/);
  });

  await t.test('every command has --help', async (t2) => {
    for (const command of [
      'setup:upgrade',
      'store:create',
      'store:list',
      'integration:token:create',
      'integration:token:revoke',
    ]) {
      await t2.test(command, async () => {
        const r = await run(env, [command, '--help']);
        assert.equal(r.code, 0);
        assert.match(r.stdout, new RegExp(`Usage: magento-async ${command}`));
      });
    }
  });

  await t.test('a bad config value fails with a message naming the key', async () => {
    const r = await run({ ...env, PORT: 'x' }, ['store:list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"port" \(from env PORT\)/);
  });
});

test('formatTable pads columns', () => {
  assert.equal(formatTable(['A', 'Bee'], [['long', 'x']]), 'A     Bee\n----  ---\nlong  x\n');
});
