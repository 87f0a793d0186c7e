/**
 * The CLI as a process: a fatal start error is one line on stderr and a non-zero exit (never a
 * hang, never a stack trace), and a reader closing the pipe early is not an error. The 10 s bound
 * comes from the design (a 5 s connect timeout, undo of whatever started); here a command still
 * running after 30 s counts as hanging, so a loaded machine does not fail the test.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/dev/embedded.ts';
import { runCli } from './support/processes.ts';

const root = join(import.meta.dirname, '..');
let db: TestDatabase;
let taken: Server;
let takenPort: number;
let embedded: EmbeddedPostgres;
let embeddedDir: string;

before(async () => {
  db = await createTestDatabase('cli');
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  takenPort = (taken.address() as { port: number }).port;
  // A server with real password authentication, to be refused by.
  embeddedDir = mkdtempSync(join(tmpdir(), 'cli-pg-'));
  // Public like a usual folder: a 0700 parent would send a root run down the private-parent path.
  chmodSync(embeddedDir, 0o755);
  embedded = await startEmbeddedPostgres({ dataDir: join(embeddedDir, 'data') });
});
after(async () => {
  await db.pool.query(`DROP SCHEMA IF EXISTS "${db.schema}_boss" CASCADE`);
  await db.drop();
  taken.close();
  await embedded.stop();
  rmSync(embeddedDir, { recursive: true, force: true });
});

const wrongPassword = () => embedded.url.replace(/:[^:@/]+@/, ':wrong@');
const closedPort = async () => `postgres://postgres@127.0.0.1:${await freePort()}/test`;

const cases: [
  name: string,
  args: () => Promise<string[]> | string[],
  env: () => Promise<Record<string, string>> | Record<string, string>,
  line: RegExp,
][] = [
  [
    'serve on a port that is taken',
    () => ['serve', '--port', String(takenPort)],
    () => ({ DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema }),
    /^magento-async: Port \d+ on 127\.0\.0\.1 is in use: choose another with --port or PORT\.$/,
  ],
  [
    'serve with a database nobody listens on',
    () => ['serve', '--port', '0'],
    async () => ({ DATABASE_URL: await closedPort() }),
    /^magento-async: Cannot use the database postgres:\/\/postgres@127\.0\.0\.1:\d+\/test \(DATABASE_URL\): nothing listens there\.$/,
  ],
  [
    'serve with refused credentials',
    () => ['serve', '--port', '0'],
    () => ({ DATABASE_URL: wrongPassword() }),
    /^magento-async: Cannot use the database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres \(DATABASE_URL\): it refused the credentials\.$/,
  ],
  [
    'bulk:status with a database nobody listens on',
    () => ['bulk:status', '00000000-0000-4000-8000-000000000101'],
    async () => ({ DATABASE_URL: await closedPort() }),
    /^magento-async: Cannot use the database postgres:\/\/postgres@127\.0\.0\.1:\d+\/test \(DATABASE_URL\): nothing listens there\.$/,
  ],
  [
    'a consumer with a database that does not exist',
    () => ['queue:consumers:start', 'async.operations.all'],
    () => ({ DATABASE_URL: db.url.replace(/\/[^/]+$/, '/no_such_db') }),
    /^magento-async: Cannot use the database .*\/no_such_db \(DATABASE_URL\): that database does not exist\.$/,
  ],
  [
    'a bad configuration value',
    () => ['serve'],
    () => ({ DATABASE_URL: db.url, PORT: 'eighty' }),
    /^magento-async: Invalid configuration "port" \(from env PORT\): expected an integer from 0 to 65535, got "eighty"$/,
  ],
  [
    'serve in production without a crypt key',
    () => ['serve', '--port', '0'],
    () => ({ DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema, CRYPT_KEY: '' }),
    /^magento-async: No crypt key: set CRYPT_KEY or CRYPT_KEY_FILE\. .* a key kept in that same database would open them for anyone holding a dump or a backup\. To accept that risk anyway, set "cryptKeyInDatabase": true \(MAGENTO_ASYNC_CRYPT_KEY_IN_DATABASE=true\)\.$/,
  ],
  [
    'a configured spec that is not the one codegen recorded',
    () => ['serve', '--port', '0'],
    () => ({ DATABASE_URL: db.url, MAGENTO_ASYNC_SPEC: 'openapi/other.yaml' }),
    /^magento-async: src\/generated\/ was generated from openapi\/magento-sample\.yaml, but the configuration names the spec openapi\/other\.yaml\. Run `npx magento-async codegen --spec openapi\/other\.yaml` to make it the project's spec, or unset "spec" \(MAGENTO_ASYNC_SPEC\) to keep openapi\/magento-sample\.yaml\.$/,
  ],
];

for (const [name, args, env, line] of cases) {
  test(`${name}: one line, exit 1, no hang`, async () => {
    const result = await runCli(process.execPath, ['bin/magento-async.js', ...(await args())], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'silent', ...(await env()) },
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, line);
  });
}

test('routes --json | head: a pipe closed early ends the command quietly with exit 0', async () => {
  const child = spawn(
    process.execPath,
    ['bin/magento-async.js', 'routes', '--spec', 'openapi/magento-sample.yaml', '--json'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The reader goes away before the output is written, as `head -1` does after its line.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise((done) => child.on('exit', (c) => done(c)));
  assert.equal(code, 0);
  assert.doesNotMatch(stderr, /EPIPE|Error/);
});

test('--verbose says which database a command uses, and why, on stderr', async () => {
  const result = await runCli(process.execPath, ['bin/magento-async.js', '--verbose', 'store:list', '--json'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, `Database: ${db.url} (DATABASE_URL)\n`);
  assert.deepEqual(
    (JSON.parse(result.stdout) as { code: string }[]).map((s) => s.code),
    ['admin', 'default'],
  );
});
