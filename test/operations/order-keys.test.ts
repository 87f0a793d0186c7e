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
import { randomUUID } from 'node:crypto';
import { AcceptCommitter } from '../../src/accept/committer.ts';
import { serializedData } from '../../src/accept/data-hash.ts';
import { phpJsonDecode } from '../../src/accept/php-json.ts';
import { storedArgsOf } from '../../src/plugins/coerce.ts';
import { entityKey } from '../../src/operations/requires.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import type { Route } from '../../src/routes/types.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

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

describe('order rules as a server saves them at start', () => {
  let server: TestServer;
  before(async () => (server = await startTestServer('order_rules_serve')));
  after(async () => await server?.stop());

  it('operations accepted before any consumer started are keyed by the accept itself', async () => {
    const s = ident(server.db.schema);
    const { rows: saved } = await server.db.pool.query(`SELECT 1 FROM ${s}.order_key_rule`);
    assert.ok(saved.length > 0, 'the server stored the rules of its routes');
    const res = await server.request('PUT', '/rest/default/async/V1/products/serve-1', {
      body: { product: { sku: 'serve-1', price: 1 } },
    });
    assert.equal(res.status, 202, res.text);
    const { rows } = await server.db.pool.query<{ order_key: string }>(
      `SELECT p.order_key FROM ${s}.operation_order p JOIN ${s}.bulk b ON b.uuid = p.bulk_uuid
       WHERE b.uuid = $1`,
      [res.json.bulk_uuid],
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.order_key, /:serve-1$/);
  });
});

describe('the text of a key value: one rule in JS and in SQL (src/operations/key-text.ts)', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let committer: AcceptCommitter;
  before(async () => {
    db = await createTestDatabase('key_text');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products']);
    await saveOrderRules(db.pool, db.schema, rules);
    committer = new AcceptCommitter({
      pool: db.pool,
      schema: db.schema,
      enqueue: (client, jobs) => enqueueOperations(client, boss, jobs),
      idempotencyTtlSeconds: 60,
      groupCommit: false,
    });
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  /**
   * Accepts one operation whose body is `body` as accept stores it (PHP's json_decode, then
   * json_encode: `1.0` is stored `1`, `-0.0` `-0`, `12345678901234567890` `1.2345678901234567e+19`),
   * and returns its stored arguments and the key the order trigger gave it.
   */
  const accept = async (operationId: string, body: string) => {
    const serialized = serializedData(phpJsonDecode(body), 1);
    const uuid = randomUUID();
    await committer.submit({
      bulk: { uuid, userId: 1, userType: 2, description: 'Topic t', storeId: 1, storeCode: null, requestId: null },
      route: { entity: 'products', topic: 't', operationId } as Route,
      items: [{ index: 0, hash: '', serialized }],
    });
    const { rows } = await db.pool.query<{ order_key: string }>(
      `SELECT order_key FROM ${ident(db.schema)}.operation_order WHERE bulk_uuid = $1`,
      [uuid],
    );
    return { args: storedArgsOf(serialized) as Record<string, unknown>, key: rows[0]?.order_key ?? null };
  };

  // [the value as a request writes it, the key's text]
  const cases: [string, string | null][] = [
    ['1', '1'],
    ['1.0', '1'],
    ['"1"', '1'],
    ['1e0', '1'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['-7', '-7'],
    ['9007199254740993', '9007199254740992'],
    ['12345678901234567890', '12345678901234567000'],
    ['100000000000000000000', '100000000000000000000'],
    ['1e21', '1e+21'],
    ['1000000000000000.0', '1000000000000000'],
    ['1.5', '1.5'],
    ['-12.25', '-12.25'],
    ['0.1', '0.1'],
    ['0.000001', '0.000001'],
    ['1e-7', '1e-7'],
    ['"a b "', 'a b '],
    ['" 1"', ' 1'],
    ['"1.0"', '1.0'],
    ['"é/x\\\\y"', 'é/x\\y'],
    ['true', 'true'],
    ['null', null],
    ['{"a":1}', null],
    ['[1]', null],
  ];
  const [putSku, putOption] = [rules[0]!, rules[2]!];
  for (const [written, text] of cases) {
    it(`${written} → ${text === null ? 'no key' : JSON.stringify(text)}`, async () => {
      const expected = text === null ? null : `products@1:${text}`;
      // SQL, one path (the trigger's inline form), and JS as accept reads it before storing.
      const one = await accept('PutSku', `{"sku":${written}}`);
      assert.equal(one.key, expected, 'SQL, one path');
      assert.equal(providedKey(putSku, one.args, 1), expected, 'JS, provided');
      // SQL, two paths (order_key_of).
      const two = await accept('PutOption', `{"sku":${written},"optionId":${written}}`);
      assert.equal(two.key, text === null ? null : `products@1:${text}\u001f${text}`, 'SQL, two paths');
      assert.equal(providedKey(putOption, two.args, 1), two.key, 'JS, provided, two paths');
      // JS, a plugin's `requires` naming the value as the handler gets it: the same key.
      if (text !== null) {
        assert.equal(entityKey(1, { entity: 'products', key: one.args.sku as string | number }), expected, 'requires');
      }
    });
  }
});
