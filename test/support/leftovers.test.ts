/**
 * The end-of-run check (test/support/leftovers.ts) finds what a run leaves behind, so it cannot
 * stop finding it unnoticed: a sandbox run gets a stray file, a folder, a schema and a process,
 * and its end lists and removes each; a run that leaves nothing passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createPool, databaseUrl, ident } from '../../src/db/pool.ts';
import { CODEGEN_CACHE_ENV } from '../../codegen/cache.ts';
import { CACHE_DIR_ENV } from '../../src/dev/cluster-template.ts';
import { endRun, forgetSchema, noteSchema, startRun } from './leftovers.ts';
import { waitFor } from './wait.ts';

const RUN_ENV = ['TMPDIR', 'MAGENTO_ASYNC_TEST_RUN', CODEGEN_CACHE_ENV, CACHE_DIR_ENV];

/** Runs `body` in a sandbox run of its own (inside this run's folder), then restores this run's. */
async function sandbox<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const saved = new Map(RUN_ENV.map((k) => [k, process.env[k]]));
  try {
    return await body(startRun());
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('a run that left a file, a folder, a schema and a process is told so, and they are removed', async () => {
  const pool = createPool({ connectionString: databaseUrl(), max: 1 });
  const schema = `leftover_check_${process.pid}`;
  try {
    await sandbox(async (dir) => {
      writeFileSync(join(dir, 'load-spec-1.json'), '{}');
      mkdirSync(join(dir, 'consumer-cmd-1'));
      await pool.query(`CREATE SCHEMA ${ident(schema)}`);
      noteSchema(schema);
      // A child that never ends on its own, with the run's tag in its environment.
      const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
      const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      await waitFor(() => child.pid !== undefined, 10_000, 'the child to start');

      const left = await endRun(dir, pool);
      assert.deepEqual(
        left.filter((l) => !l.startsWith('process ')).sort(),
        [join(dir, 'consumer-cmd-1'), join(dir, 'load-spec-1.json'), `schema ${schema}`].sort(),
      );
      assert.ok(
        left.some((l) => l.startsWith(`process ${child.pid}:`)),
        `the child is listed: ${left.join('; ')}`,
      );
      assert.equal(await exited, 'SIGKILL', 'the child was killed');
      assert.equal(existsSync(dir), false, 'the run folder is gone');
      const { rows } = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      assert.equal(rows.length, 0, 'the schema is dropped');
      assert.ok(basename(dir).startsWith('magento-async-tests-'));
    });
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
  }
});

test('a run that cleaned up after itself leaves nothing to report', async () => {
  await sandbox(async (dir) => {
    // magento-async's cache (the embedded PostgreSQL's template) is the run's, inside its folder.
    const cache = process.env[CACHE_DIR_ENV]!;
    assert.equal(dirname(cache), dir);
    mkdirSync(join(cache, 'postgres-templates'), { recursive: true });
    assert.deepEqual(await endRun(dir, null), []);
    assert.equal(existsSync(dir), false);
  });
});

test('a schema its test dropped, yet still there (a drop rolled back later), is told so', async () => {
  const pool = createPool({ connectionString: databaseUrl(), max: 1 });
  const schema = `leftover_undone_${process.pid}`;
  try {
    await sandbox(async (dir) => {
      await pool.query(`CREATE SCHEMA ${ident(schema)}`);
      await pool.query(`CREATE SCHEMA ${ident(`${schema}__acme`)}`);
      noteSchema(schema);
      // What the test believes: its drop returned. The transaction it ran in was rolled back.
      await pool.query('BEGIN');
      await pool.query(`DROP SCHEMA ${ident(schema)} CASCADE; DROP SCHEMA ${ident(`${schema}__acme`)} CASCADE`);
      forgetSchema(schema);
      await pool.query('ROLLBACK');
      const left = await endRun(dir, pool);
      assert.deepEqual(left.sort(), [
        `schema ${schema} (its test dropped it, yet it is there)`,
        `schema ${schema}__acme (its test dropped it, yet it is there)`,
      ]);
      const { rows } = await pool.query('SELECT 1 FROM pg_namespace WHERE starts_with(nspname, $1)', [schema]);
      assert.equal(rows.length, 0, 'the schemas are dropped');
    });
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(`${schema}__acme`)} CASCADE`);
    await pool.end();
  }
});
