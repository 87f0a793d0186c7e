/**
 * Group commit with Idempotency-Keys: two requests with the same key in one group must not fail
 * the group (PostgreSQL refuses an INSERT … ON CONFLICT DO UPDATE that touches a row twice, 21000):
 * the first claims the key, the second loses it, and the group commits once, without a rollback.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { AcceptCommitter, type AcceptJob } from '../../src/accept/committer.ts';
import { ident } from '../../src/db/pool.ts';
import { routes } from '../../src/generated/routes.gen.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('committer');
});
after(() => db.drop());

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
    route: routes[0]!,
    items: [{ index: 0, serialized: '{"entity_id":null}', hash: 'h' }],
    idempotency: key
      ? { key, requestHash: Buffer.alloc(32, 1), responseStatus: 202, responseBody: `{"bulk_uuid":"${uuid}"}` }
      : undefined,
  };
}

test('same key twice and a keyless request in one group: one transaction, no rollback, first wins', async () => {
  const statements: string[] = [];
  const committer = new AcceptCommitter({
    pool: recording(db.pool, statements),
    schema: db.schema,
    enqueue: async () => {},
    idempotencyTtlSeconds: 60,
    groupCommit: true,
  });
  const uuids = [
    '00000000-0000-4000-8000-000000000001',
    '00000000-0000-4000-8000-000000000002',
    '00000000-0000-4000-8000-000000000003',
  ];
  // Submitted in one turn: they share a group.
  const outcomes = await Promise.all([
    committer.submit(job(uuids[0]!, 'same')),
    committer.submit(job(uuids[1]!, 'same')),
    committer.submit(job(uuids[2]!, undefined)),
  ]);
  await committer.drain();
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['committed', 'idempotency-conflict', 'committed'],
  );
  assert.equal(statements.filter((s) => s === 'BEGIN').length, 1, statements.join(' '));
  assert.equal(statements.filter((s) => s === 'ROLLBACK').length, 0, statements.join(' '));
  const { rows } = await db.pool.query(`SELECT uuid::text FROM ${ident(db.schema)}.bulk ORDER BY uuid`);
  assert.deepEqual(
    rows.map((r) => r.uuid),
    [uuids[0], uuids[2]],
  );
});
