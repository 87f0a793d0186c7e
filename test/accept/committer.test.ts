/**
 * The accept committer against the real database and a real pg-boss:
 * - a group's writes are one statement, its own transaction (no BEGIN, no COMMIT), whatever it
 *   mixes: entities (one job insert per queue), webhooks, requests without operations;
 * - that statement is all or nothing when it fails at its commit (a queue an operator deleted);
 * - without an embedded job insert the jobs go through pg-boss's insert in an explicit transaction;
 * - group commit with Idempotency-Keys: two requests with the same key in one group must not fail
 *   the group (PostgreSQL refuses an INSERT … ON CONFLICT DO UPDATE that touches a row twice,
 *   21000): the first claims the key, the second loses it, and the group commits once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { AcceptCommitter, type AcceptJob, type CommitterOptions } from '../../src/accept/committer.ts';
import { ident } from '../../src/db/pool.ts';
import { routes } from '../../src/generated/routes.gen.js';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { acceptJobStatements, JobInserts } from '../../src/queue/job-insert.ts';

let db: TestDatabase;
let boss: PgBoss;
const products = routes.find((r) => r.entity === 'products' && r.method === 'POST')!;
const customers = routes.find((r) => r.entity === 'customers' && r.method === 'POST')!;

before(async () => {
  db = await createTestDatabase('committer');
  boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  await ensureQueues(boss, ['products', 'customers']);
});
after(async () => {
  await boss.stop({ graceful: false });
  await db.drop();
});

function committer(statements: string[], options: Partial<CommitterOptions> = {}): AcceptCommitter {
  return new AcceptCommitter({
    pool: recording(db.pool, statements),
    schema: db.schema,
    enqueue: (client, jobs) => enqueueOperations(client, boss, jobs),
    jobStatements: acceptJobStatements(new JobInserts(boss, db.bossSchema)),
    idempotencyTtlSeconds: 60,
    groupCommit: true,
    ...options,
  });
}

/** A request of `items` operations of `route`. */
function request(route: typeof products, items: number, callbackUrl: string | null = null): AcceptJob {
  return {
    bulk: {
      uuid: randomUUID(),
      userId: 1,
      userType: 1,
      description: `Topic ${route.topic}`,
      storeId: 1,
      storeCode: 'default',
      requestId: null,
      callbackUrl,
    },
    route,
    items: Array.from({ length: items }, (_, index) => ({ index, serialized: `{"i":${index}}`, hash: 'h' })),
  };
}

/** Per bulk: its operation count, operation rows, jobs in its entity's queue, webhook rows. */
async function written(jobs: readonly AcceptJob[]): Promise<number[][]> {
  const s = ident(db.schema);
  const { rows } = await db.pool.query<{ uuid: string; n: number; ops: number; jobs: number; hooks: number }>(
    `SELECT u.uuid::text,
       (SELECT operation_count FROM ${s}.bulk WHERE uuid = u.uuid) AS n,
       (SELECT count(*)::int FROM ${s}.operation WHERE bulk_uuid = u.uuid) AS ops,
       (SELECT count(*)::int FROM ${ident(db.bossSchema)}.job WHERE data->>'bulk' = u.uuid::text AND name = u.queue) AS jobs,
       (SELECT count(*)::int FROM ${s}.bulk_webhook WHERE bulk_uuid = u.uuid) AS hooks
     FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS u(uuid, queue, i) ORDER BY i`,
    [jobs.map((j) => j.bulk.uuid), jobs.map((j) => `async.${j.route.entity}`)],
  );
  return rows.map((r) => [r.n ?? -1, r.ops, r.jobs, r.hooks]);
}

test('a group mixing entities, a webhook and an empty bulk is one statement, its own transaction', async () => {
  const statements: string[] = [];
  const c = committer(statements);
  const group = [request(products, 3), request(customers, 2, 'https://hooks.example/done'), request(products, 0)];
  const outcomes = await Promise.all(group.map((j) => c.submit(j)));
  await c.drain();
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['committed', 'committed', 'committed'],
  );
  assert.deepEqual(statements, ['prepared']);
  assert.deepEqual(await written(group), [
    [3, 3, 3, 0],
    [2, 2, 2, 1],
    [0, 0, 0, 0],
  ]);
});

test('a statement that fails at its commit writes nothing; the queue is read again afterwards', async () => {
  const c = committer([]);
  await c.submit(request(customers, 1)); // the customers' job insert is read and cached
  // An operator deletes the queue: the cached insert now fails pg-boss's deferred foreign key,
  // checked when the statement commits, after the bulk and operation rows were written.
  await boss.deleteQueue('async.customers');
  const doomed = request(customers, 4);
  await assert.rejects(c.submit(doomed));
  assert.deepEqual(await written([doomed]), [[-1, 0, 0, 0]]);
  // Read again: no queue, so pg-boss's own insert runs and says what is missing.
  const next = request(customers, 1);
  await assert.rejects(c.submit(next), /Queue async.customers does not exist/);
  assert.deepEqual(await written([next]), [[-1, 0, 0, 0]]);
  await ensureQueues(boss, ['customers']);
  const again = request(customers, 2);
  await c.submit(again);
  assert.deepEqual(await written([again]), [[2, 2, 2, 0]]);
});

test("without an embedded job insert, the jobs go through pg-boss's insert in one explicit transaction", async () => {
  const statements: string[] = [];
  const c = committer(statements, { jobStatements: undefined });
  const group = [request(products, 2), request(customers, 1)];
  await Promise.all(group.map((j) => c.submit(j)));
  await c.drain();
  assert.equal(statements[0], 'BEGIN');
  assert.equal(statements.at(-1), 'COMMIT');
  assert.deepEqual(await written(group), [
    [2, 2, 2, 0],
    [1, 1, 1, 0],
  ]);
});

/** The real pool, with the statements its clients run written down. */
function recording(pool: pg.Pool, statements: string[]): pg.Pool {
  return {
    connect: async () => {
      const client = await pool.connect();
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
        statements.push(typeof text === 'string' ? text.trim().split(/\s+/)[0]! : 'prepared');
        return query(text, ...rest);
      };
      return client;
    },
  } as unknown as pg.Pool;
}

function job(uuid: string, key: string | undefined): AcceptJob {
  return {
    bulk: { uuid, userId: 1, userType: 1, description: 'Topic t', storeId: 1, storeCode: 'default', requestId: null },
    route: products,
    items: [{ index: 0, serialized: '{"entity_id":null}', hash: 'h' }],
    idempotency: key
      ? { key, requestHash: Buffer.alloc(32, 1), responseStatus: 202, responseBody: `{"bulk_uuid":"${uuid}"}` }
      : undefined,
  };
}

test('same key twice and a keyless request in one group: one transaction, no rollback, first wins', async () => {
  const statements: string[] = [];
  const c = committer(statements);
  const uuids = [
    '00000000-0000-4000-8000-000000000001',
    '00000000-0000-4000-8000-000000000002',
    '00000000-0000-4000-8000-000000000003',
  ];
  // Submitted in one turn: they share a group.
  const outcomes = await Promise.all([
    c.submit(job(uuids[0]!, 'same')),
    c.submit(job(uuids[1]!, 'same')),
    c.submit(job(uuids[2]!, undefined)),
  ]);
  await c.drain();
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['committed', 'idempotency-conflict', 'committed'],
  );
  assert.equal(statements.filter((s) => s === 'BEGIN').length, 1, statements.join(' '));
  assert.equal(statements.filter((s) => s === 'ROLLBACK').length, 0, statements.join(' '));
  const { rows } = await db.pool.query(
    `SELECT uuid::text FROM ${ident(db.schema)}.bulk WHERE uuid = ANY($1) ORDER BY uuid`,
    [uuids],
  );
  assert.deepEqual(
    rows.map((r) => r.uuid),
    [uuids[0], uuids[2]],
  );
});
