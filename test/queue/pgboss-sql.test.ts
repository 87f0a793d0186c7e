/**
 * The pg-boss SQL we rewrite (src/queue/pgboss-sql.ts), pinned to the installed pg-boss: the
 * statements a real pg-boss sends for the consumer's fetch and completion are captured and compared
 * with the pinned text, so an upgrade that changes them fails here rather than silently falling
 * back to the slow path (or, worse, folding into a statement of a new meaning).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Db } from 'pg-boss';
import { createTestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import {
  completionWithCteAfter,
  PGBOSS_VERSION,
  PINNED_SQL,
  splitFetch,
  startWaitingJobsNow,
} from '../../src/queue/pgboss-sql.ts';
import { seedBulk } from '../consumer/seed.ts';

const require = createRequire(import.meta.url);
const installed = (JSON.parse(readFileSync(require.resolve('pg-boss/package.json'), 'utf8')) as { version: string })
  .version;
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** The statement with the names that vary per deployment written as placeholders. */
const shape = (text: string, schema: string, queue: string) =>
  text
    .split(schema)
    .join('<schema>')
    .split(queue)
    .join('<queue>')
    .replace(/LIMIT \d+/g, 'LIMIT <limit>');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('pg-boss SQL pin', () => {
  it('package.json pins pg-boss exactly, to the version installed and the one the rewrites were written for', () => {
    assert.equal(manifest.dependencies['pg-boss'], PGBOSS_VERSION);
    assert.equal(installed, PGBOSS_VERSION);
  });

  it('the fetch and completion statements the installed pg-boss sends are the pinned ones, and the rewrites take them', async () => {
    const db = await createTestDatabase('pgboss_pin');
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    try {
      await ensureQueues(boss, ['products']);
      await seedBulk(db.pool, boss, db.schema, { count: 3, operationId: 'Void' });
      const sent: string[] = [];
      const db_: Db = {
        executeSql: (text, values) => (sent.push(text), db.pool.query(text, values)),
      };
      const jobs = await boss.fetch('async.products', { batchSize: 7, db: db_ });
      assert.equal(jobs.length, 3);
      await boss.complete(
        'async.products',
        jobs.map((j) => ({ id: j.id, retryCount: j.retryCount })),
        null,
        { db: db_ },
      );
      assert.equal(sent.length, 2, 'one statement to fetch, one to complete');
      const [fetch, complete] = sent.map((t) => shape(t, db.bossSchema, 'async.products'));
      assert.deepEqual(
        { fetch: sha(fetch!), complete: sha(complete!) },
        PINNED_SQL,
        `pg-boss ${installed} sends other SQL than the pinned. Fetch:\n${fetch}\nComplete:\n${complete}`,
      );
      assert.ok(splitFetch(sent[0]!), 'the fetch splits into its CTEs and its UPDATE');
      assert.ok(completionWithCteAfter(sent[1]!, 'x', 'SELECT 1'), 'the completion takes a CTE after its results');
    } finally {
      await boss.stop({ graceful: false });
      await db.drop();
    }
  });

  it('a job put off into the future is made fetchable now, and only a job still waiting to be fetched', async () => {
    const db = await createTestDatabase('pgboss_wake');
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    try {
      await ensureQueues(boss, ['products']);
      const later = await boss.send('async.products', { n: 1 }, { startAfter: 3600 });
      const done = await boss.send('async.products', { n: 2 });
      const [got] = await boss.fetch('async.products');
      assert.equal(got?.id, done);
      await boss.complete('async.products', done!);
      assert.equal((await boss.fetch('async.products')).length, 0, 'the put-off job is not due');
      const ids = `SELECT unnest($1::uuid[]) AS id, $2::int AS unused`;
      const moved = await db.pool.query(startWaitingJobsNow(db.bossSchema, ids), [[later, done], 0, 'async.products']);
      assert.equal(moved.rowCount, 1, 'the completed job is left alone');
      const [woken] = await boss.fetch('async.products');
      assert.equal(woken?.id, later);
    } finally {
      await boss.stop({ graceful: false });
      await db.drop();
    }
  });

  it('statements of another shape are left alone', () => {
    for (const text of [
      'SELECT 1',
      'WITH x AS (SELECT 1) SELECT * FROM x',
      'WITH a AS (SELECT 1) -- c\n UPDATE t SET a = 1 RETURNING *',
    ]) {
      assert.equal(splitFetch(text), null, text);
    }
    assert.equal(completionWithCteAfter('UPDATE job SET state = 1', 'x', 'SELECT 1'), null);
    assert.equal(completionWithCteAfter('WITH RECURSIVE r AS (SELECT 1) SELECT 1', 'x', 'SELECT 1'), null);
    assert.equal(completionWithCteAfter('WITH other AS (SELECT 1) SELECT 1', 'x', 'SELECT 1'), null, 'no results CTE');
    assert.equal(
      completionWithCteAfter(
        'WITH results AS (UPDATE j SET a = 1 RETURNING id) SELECT count(*) FROM results',
        'x',
        'SELECT 2',
      ),
      'WITH results AS (UPDATE j SET a = 1 RETURNING id),\n    x AS (SELECT 2)\n    SELECT count(*) FROM results',
    );
  });
});
