/**
 * Entity keys as the accept transaction's insert gets them (011_lifecycle.sql triggers): from the
 * operationId's rule, per store, `null` when a path is missing, and gone once the operation is final.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { orderRules, providedKey, saveOrderRules } from '../../src/operations/order-keys.ts';
import { seedBulk } from '../consumer/seed.ts';

const rules = orderRules(
  [
    { operationId: 'PutSku', entity: 'products', pathParams: ['sku'] },
    { operationId: 'PostProduct', entity: 'products', pathParams: [] },
    { operationId: 'PutOption', entity: 'products', pathParams: ['sku', 'optionId'] },
    { operationId: 'Unordered', entity: 'products', pathParams: ['sku'] },
    { operationId: 'NoParams', entity: 'products', pathParams: [] },
  ],
  new Map([
    ['PostProduct', ['product.sku']],
    ['Unordered', null],
  ]),
);

describe('entity keys of accepted operations', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  before(async () => {
    db = await createTestDatabase('order_keys');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products']);
    await saveOrderRules(db.pool, db.schema, rules);
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  const keyOf = async (operationId: string, args: unknown, storeId = 1) => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId, args: () => args, storeId });
    const { rows } = await db.pool.query(
      `SELECT order_key FROM ${ident(db.schema)}.operation_order WHERE bulk_uuid = $1`,
      [bulk],
    );
    return rows[0]?.order_key ?? null;
  };

  const cases: [string, string, unknown, number, string | null][] = [
    ['a path parameter', 'PutSku', { sku: 'A1', product: { price: 1 } }, 1, 'products@1:A1'],
    ['another store', 'PutSku', { sku: 'A1' }, 0, 'products@0:A1'],
    ['a declared body path, same key as the PUT', 'PostProduct', { product: { sku: 'A1' } }, 1, 'products@1:A1'],
    ['two path parameters', 'PutOption', { sku: 'A1', optionId: 7 }, 1, 'products@1:A1\u001f7'],
    ['a missing value: not ordered', 'PostProduct', { product: {} }, 1, null],
    ['declared null: not ordered', 'Unordered', { sku: 'A1' }, 1, null],
    ['no path parameters, no declaration: not ordered', 'NoParams', { x: 1 }, 1, null],
    ['a null value: not ordered', 'PutSku', { sku: null }, 1, null],
    ['an empty value is a key', 'PutSku', { sku: '' }, 1, 'products@1:'],
  ];
  for (const [what, operationId, args, storeId, expected] of cases) {
    it(what, async () => {
      assert.equal(await keyOf(operationId, args, storeId), expected);
      // Accept reads the same key before storing (a bulk's dependency cycles): the same answer.
      const rule = rules.find((r) => r.operationId === operationId)!;
      assert.equal(providedKey(rule, args, storeId), expected);
    });
  }
});

describe('order rules as consumers save them at start', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  before(async () => {
    db = await createTestDatabase('order_rules');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products']);
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  const route = { operationId: 'PutSku', entity: 'products', pathParams: ['sku'] };
  /** The places in their keys' order of a bulk's operations, by operation key: [key, order key]. */
  const places = async (bulks: string[]) =>
    (
      await db.pool.query<{ bulk: string; key: number; order_key: string }>(
        `SELECT bulk_uuid AS bulk, operation_key AS key, order_key FROM ${ident(db.schema)}.operation_order
         WHERE bulk_uuid = ANY($1::uuid[]) ORDER BY seq`,
        [bulks],
      )
    ).rows.map((r) => [bulks.indexOf(r.bulk), r.key, r.order_key]);

  it('operations accepted before the first consumer started get their place at its start, in acceptance order', async () => {
    const first = await seedBulk(db.pool, boss, db.schema, {
      count: 2,
      operationId: 'PutSku',
      args: (k) => ({ sku: `early-${k}` }),
    });
    const second = await seedBulk(db.pool, boss, db.schema, {
      count: 2,
      operationId: 'PutSku',
      args: (k) => ({ sku: `early-${1 - k}` }),
    });
    assert.deepEqual(await places([first, second]), [], 'no rule yet: not ordered');
    await saveOrderRules(db.pool, db.schema, orderRules([route], new Map()));
    assert.deepEqual(await places([first, second]), [
      [0, 0, 'products@1:early-0'],
      [0, 1, 'products@1:early-1'],
      [1, 0, 'products@1:early-1'],
      [1, 1, 'products@1:early-0'],
    ]);
    // Saved again (the next consumer's start): nothing changes.
    await saveOrderRules(db.pool, db.schema, orderRules([route], new Map()));
    assert.equal((await places([first, second])).length, 4);
  });

  it('a rule switched off (orderKeys: {X: null}) is deleted, and its operations leave their keys', async () => {
    await saveOrderRules(db.pool, db.schema, orderRules([route], new Map()));
    const keyed = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'PutSku',
      args: () => ({ sku: 'off' }),
    });
    assert.equal((await places([keyed])).length, 1);
    await saveOrderRules(db.pool, db.schema, orderRules([route], new Map([['PutSku', null]])));
    const rules = await db.pool.query(`SELECT 1 FROM ${ident(db.schema)}.order_key_rule WHERE operation_id = 'PutSku'`);
    assert.equal(rules.rowCount, 0);
    assert.deepEqual(await places([keyed]), []);
    const later = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'PutSku',
      args: () => ({ sku: 'off' }),
    });
    assert.deepEqual(await places([later]), [], 'accepted after: not ordered');
  });

  it('a changed rule re-keys the unfinished operations of its operationId', async () => {
    await saveOrderRules(db.pool, db.schema, orderRules([route], new Map()));
    const bulk = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'PutSku',
      args: () => ({ sku: 'S1', product: { sku: 'P1' } }),
    });
    assert.deepEqual(await places([bulk]), [[0, 0, 'products@1:S1']]);
    await saveOrderRules(db.pool, db.schema, orderRules([route], new Map([['PutSku', ['product.sku']]])));
    assert.deepEqual(await places([bulk]), [[0, 0, 'products@1:P1']]);
  });
});
