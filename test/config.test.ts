import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configDefaults, loadConfig, type LoadConfigOptions } from '../src/config.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ma-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('defaults, with no env and no config file', (t) => {
  const cwd = tempDir(t);
  const c = loadConfig({ env: {}, cwd });
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.port, 8080);
  assert.equal(c.cryptKey, undefined);
  assert.equal(c.schema, 'magento_async');
  assert.equal(c.bossSchema, 'magento_async_boss');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.mode, 'production');
  assert.equal(c.maxBulkItems, 5000);
  assert.equal(c.maxBodyBytes, 20 * 1024 * 1024);
  assert.equal(c.maxJsonDepth, 64);
  assert.equal(c.partialAccept, false);
  assert.equal(c.idempotencyTtlSeconds, 86400);
  assert.equal(c.groupCommit, true);
  assert.equal(c.acceptTransactions, 2);
  assert.equal(c.spec, undefined);
  assert.equal(c.generatedDir, 'src/generated');
  assert.equal(c.pluginsDir, 'plugins');
  assert.deepEqual(c.pluginPackages, []);
  assert.deepEqual(c.plugins, { examples: null });
  assert.deepEqual(c.upstream, { baseUrl: null, token: null, timeoutMs: 30000, maxInFlight: 16, maxPerSecond: null });
  assert.deepEqual(c.consumer, {
    batchSize: 100,
    concurrency: 4,
    inFlight: 100,
    retryLimit: 5,
    deliveryRetryLimit: 10,
    deliveryRetryDelaySeconds: 2,
    retryDelaySeconds: 2,
    retryBackoff: true,
    expireInSeconds: 60,
    heartbeatSeconds: 10,
    handlerTimeoutSeconds: 30,
    requiresWaitLimitSeconds: 3600,
  });
  assert.equal(c.statusPageSizeMax, 300);
  assert.deepEqual(c.oauth, {
    integrationAsBearer: null,
    timestampWindowSeconds: 600,
    adminTokenLifetimeHours: 4,
    adminMaxFailures: 6,
    adminLockSeconds: 1800,
  });
  assert.deepEqual(c.dashboard, { enabled: false, path: '/admin/bulks' });
  assert.deepEqual(c.metrics, {
    enabled: true,
    token: null,
    loopbackOnly: false,
    consumerPort: null,
    consumerHost: '127.0.0.1',
  });
  assert.deepEqual(c.webhooks, {
    secret: null,
    allow: [],
    allowLoopback: false,
    allowPrivate: false,
    integrations: {},
    maxAttempts: 8,
    retryBaseMs: 5000,
    timeoutMs: 10000,
    pollMs: 1000,
  });
  assert.equal(c.configFile, null);
  const { configFile: _, ...settings } = c;
  assert.deepEqual(settings, configDefaults, 'configDefaults, which modules fall back to, are what loadConfig gives');
});

test('the dashboard is on in developer mode unless configured off, and off in production unless on', () => {
  const cases: { env: Record<string, string>; enabled: boolean }[] = [
    { env: {}, enabled: false },
    { env: { MAGENTO_ASYNC_MODE: 'developer' }, enabled: true },
    { env: { MAGENTO_ASYNC_MODE: 'developer', MAGENTO_ASYNC_DASHBOARD: 'false' }, enabled: false },
    { env: { MAGENTO_ASYNC_DASHBOARD: 'true' }, enabled: true },
  ];
  for (const { env, enabled } of cases) {
    assert.equal(loadConfig({ env, cwd: '/nonexistent' }).dashboard.enabled, enabled, JSON.stringify(env));
  }
  assert.throws(() => loadConfig({ env: {}, overrides: { dashboard: { path: '/rest/V1/x' } } }), /dashboard\.path/);
});

test('environment variables', () => {
  const c = loadConfig({
    env: {
      DATABASE_URL: 'postgres://u@h/db',
      PORT: '9000',
      CRYPT_KEY: 'base64abc',
      MAGENTO_ASYNC_SCHEMA: 'shop_a',
      LOG_LEVEL: 'debug',
      MAGENTO_ASYNC_MODE: 'developer',
      MAGENTO_ASYNC_PLUGIN_EXAMPLES: 'catalog, cms,catalog',
    },
    cwd: tmpdir(),
  });
  assert.equal(c.databaseUrl, 'postgres://u@h/db');
  assert.deepEqual(c.plugins.examples, ['catalog', 'cms']);
  assert.equal(c.port, 9000);
  assert.equal(c.cryptKey, 'base64abc');
  assert.equal(c.schema, 'shop_a');
  assert.equal(c.bossSchema, 'shop_a_boss');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.mode, 'developer');
});

test('precedence: default < file < env < overrides; the default file is found in cwd', (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'magento-async.config.json'),
    JSON.stringify({
      port: 7000,
      maxBulkItems: 10,
      consumer: { batchSize: 7 },
      upstream: { baseUrl: 'https://shop.test/rest/', maxInFlight: 64, maxPerSecond: 50 },
    }),
  );
  const fromFile = loadConfig({ env: {}, cwd });
  assert.equal(fromFile.port, 7000);
  assert.equal(fromFile.maxBulkItems, 10);
  assert.equal(fromFile.consumer.batchSize, 7);
  assert.equal(fromFile.consumer.concurrency, 4, 'unset nested keys keep their defaults');
  assert.equal(fromFile.upstream.baseUrl, 'https://shop.test/rest', 'trailing slash dropped');
  assert.equal(fromFile.upstream.maxInFlight, 64);
  assert.equal(fromFile.upstream.maxPerSecond, 50);
  assert.equal(fromFile.configFile, join(cwd, 'magento-async.config.json'));

  assert.equal(loadConfig({ env: { PORT: '7001' }, cwd }).port, 7001);
  const over = loadConfig({ env: { PORT: '7001' }, cwd, overrides: { port: 7002, consumer: { batchSize: 9 } } });
  assert.equal(over.port, 7002);
  assert.equal(over.consumer.batchSize, 9);
});

test('MAGENTO_ASYNC_CONFIG and the file option name the config file', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'a.json'), JSON.stringify({ maxJsonDepth: 10 }));
  writeFileSync(join(cwd, 'b.json'), JSON.stringify({ maxJsonDepth: 20 }));
  assert.equal(loadConfig({ env: { MAGENTO_ASYNC_CONFIG: 'a.json' }, cwd }).maxJsonDepth, 10);
  assert.equal(loadConfig({ env: { MAGENTO_ASYNC_CONFIG: 'a.json' }, cwd, file: 'b.json' }).maxJsonDepth, 20);
});

test('a retired setting (consumer.leaseSeconds) is accepted and ignored, so older files load', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'old.json'), JSON.stringify({ consumer: { leaseSeconds: 20, batchSize: 7 } }));
  const c = loadConfig({ env: {}, cwd, file: 'old.json' });
  assert.equal(c.consumer.batchSize, 7);
  assert.equal('leaseSeconds' in c.consumer, false);
});

test('bossSchema can be set; it must differ from schema', (t) => {
  const cwd = tempDir(t);
  assert.equal(loadConfig({ env: {}, cwd, overrides: { bossSchema: 'jobs' } }).bossSchema, 'jobs');
  assert.throws(() => loadConfig({ env: {}, cwd, overrides: { bossSchema: 'magento_async' } }), /"bossSchema"/);
});

test('invalid values are rejected with a message naming the key and its source', async (t) => {
  const cwd = tempDir(t);
  const cases: { name: string; options: Partial<LoadConfigOptions>; file?: unknown; message: RegExp }[] = [
    {
      name: 'PORT not a number',
      options: { env: { PORT: 'eighty' } },
      message: /"port" \(from env PORT\).*integer from 0 to 65535/,
    },
    { name: 'PORT out of range', options: { env: { PORT: '70000' } }, message: /"port"/ },
    {
      name: 'schema not an identifier',
      options: { env: { MAGENTO_ASYNC_SCHEMA: 'a-b' } },
      message: /"schema".*database identifier/,
    },
    { name: 'unknown log level', options: { env: { LOG_LEVEL: 'loud' } }, message: /"logLevel".*one of fatal, error/ },
    { name: 'unknown mode', options: { env: { MAGENTO_ASYNC_MODE: 'dev' } }, message: /"mode".*production, developer/ },
    {
      name: 'maxBulkItems 0',
      file: { maxBulkItems: 0 },
      options: {},
      message: /"maxBulkItems" \(from config file .*\)/,
    },
    { name: 'maxBulkItems float', file: { maxBulkItems: 1.5 }, options: {}, message: /"maxBulkItems"/ },
    {
      name: 'partialAccept string',
      file: { partialAccept: 'yes' },
      options: {},
      message: /"partialAccept".*true or false/,
    },
    {
      name: 'pluginPackages not a list',
      file: { pluginPackages: 'a' },
      options: {},
      message: /"pluginPackages".*array/,
    },
    {
      name: 'plugins.examples naming no shipped example',
      file: { plugins: { examples: ['catalog', 'catalgo'] } },
      options: {},
      message: /"plugins.examples".*a list of shipped examples \(catalog, customer, cms\), got \["catalog","catalgo"\]/,
    },
    {
      name: 'upstream.baseUrl not a URL',
      file: { upstream: { baseUrl: 'ftp://x' } },
      options: {},
      message: /"upstream.baseUrl"/,
    },
    {
      name: 'upstream.maxInFlight zero',
      file: { upstream: { maxInFlight: 0 } },
      options: {},
      message: /"upstream.maxInFlight".*an integer from 1 to 10000/,
    },
    {
      name: 'upstream.maxPerSecond a fraction',
      file: { upstream: { maxPerSecond: 2.5 } },
      options: {},
      message: /"upstream.maxPerSecond".*an integer from 1 to 1000000/,
    },
    {
      name: 'consumer.batchSize negative',
      file: { consumer: { batchSize: -1 } },
      options: {},
      message: /"consumer.batchSize"/,
    },
    {
      name: 'oauth.integrationAsBearer not a boolean',
      file: { oauth: { integrationAsBearer: 'yes' } },
      options: {},
      message: /"oauth.integrationAsBearer".*true or false/,
    },
    {
      name: 'heartbeat below pg-boss minimum',
      file: { consumer: { heartbeatSeconds: 5 } },
      options: {},
      message: /"consumer.heartbeatSeconds".*10/,
    },
    {
      name: 'unknown key (typo)',
      file: { maxBulkItem: 5 },
      options: {},
      message: /Unknown configuration key "maxBulkItem"/,
    },
    {
      name: 'unknown nested key',
      file: { consumer: { batch: 5 } },
      options: {},
      message: /Unknown configuration key "consumer.batch"/,
    },
    { name: 'nested group not an object', file: { consumer: 5 }, options: {}, message: /"consumer".*object/ },
    {
      name: 'prototype key',
      file: JSON.parse('{"constructor": 1}'),
      options: {},
      message: /Unknown configuration key "constructor"/,
    },
    { name: 'file not an object', file: [1], options: {}, message: /must contain a JSON object/ },
    {
      name: 'named file missing',
      options: { file: 'nope.json' },
      message: /Cannot read config file .*nope\.json: ENOENT/,
    },
    {
      name: 'unknown override',
      options: { overrides: { nope: 1 } as never },
      message: /Unknown configuration key "nope" in overrides/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      let file: string | undefined;
      if (c.file !== undefined) {
        file = join(cwd, `${c.name.replace(/\W/g, '_')}.json`);
        writeFileSync(file, JSON.stringify(c.file));
      }
      assert.throws(
        () => loadConfig({ env: {}, cwd, ...(file ? { file } : {}), ...c.options }),
        (error: unknown) => error instanceof ConfigError && c.message.test(error.message),
      );
    });
  }
});

test('a config file that is not JSON names the file', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'magento-async.config.json'), '{ port: 1 }');
  assert.throws(() => loadConfig({ env: {}, cwd }), /magento-async\.config\.json is not valid JSON/);
});

test('an error message says the key, where the value came from, what is allowed and what was given', (t) => {
  const cwd = tempDir(t);
  const cases: { options: Partial<LoadConfigOptions>; message: string }[] = [
    {
      options: { env: { PORT: 'eighty' } },
      message: 'Invalid configuration "port" (from env PORT): expected an integer from 0 to 65535, got "eighty"',
    },
    {
      options: { overrides: { upstream: { baseUrl: 'ftp://x' } } },
      message:
        'Invalid configuration "upstream.baseUrl" (from overrides): expected an http(s) URL or null, got "ftp://x"',
    },
    {
      options: { overrides: { consumer: { heartbeatSeconds: 5 } } },
      message:
        'Invalid configuration "consumer.heartbeatSeconds" (from overrides): expected an integer from 10 to 86400 or null, got 5',
    },
    {
      options: { overrides: { webhooks: { integrations: { erp: '' } } } },
      message:
        'Invalid configuration "webhooks.integrations" (from overrides): expected an object of non-empty strings, got {"erp":""}',
    },
    {
      options: { env: { MAGENTO_ASYNC_DASHBOARD: 'maybe' } },
      message:
        'Invalid configuration "dashboard.enabled" (from env MAGENTO_ASYNC_DASHBOARD): expected true or false, got "maybe"',
    },
    {
      options: { env: { MAGENTO_ASYNC_SCHEMA: 'a'.repeat(60) } },
      message:
        `Invalid configuration "bossSchema" (from the default "<schema>_boss"; set "bossSchema" or a shorter "schema"): ` +
        `expected a database identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters), got "${'a'.repeat(60)}_boss"`,
    },
    {
      options: { overrides: JSON.parse('{"__proto__": {"port": 1}}') as never },
      message: 'Unknown configuration key "__proto__" in overrides',
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => loadConfig({ env: {}, cwd, ...c.options }),
      (error: unknown) => error instanceof ConfigError && error.message === c.message,
      c.message,
    );
  }
});

test("a config file may carry an editor's $schema hint, and numbers and booleans as strings", (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'magento-async.config.json'),
    JSON.stringify({
      $schema: './config.schema.json',
      port: '7000',
      groupCommit: 'false',
      consumer: { retryLimit: '0' },
    }),
  );
  const c = loadConfig({ env: {}, cwd });
  assert.equal(c.port, 7000);
  assert.equal(c.groupCommit, false);
  assert.equal(c.consumer.retryLimit, 0);
});

test('two loads share no default object', () => {
  const a = loadConfig({ env: {}, cwd: '/nonexistent' });
  a.webhooks.allow.push('https://a.example');
  assert.deepEqual(loadConfig({ env: {}, cwd: '/nonexistent' }).webhooks.allow, []);
  assert.deepEqual(configDefaults.webhooks.allow, []);
});
