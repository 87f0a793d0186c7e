/**
 * The consumer writes its statements' array parameters itself (src/queue/array-literal.ts) and reads
 * the completion's settled ids with a split (completion-fold.ts): both must give what
 * node-postgres gives, and the database must read the literals back as the arrays they came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { arrayLiteral } from '../../src/queue/array-literal.ts';
import { parseUuidArray } from '../../src/queue/completion-fold.ts';
import { createTestDatabase } from '../support/db.ts';

const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(v: unknown): unknown };

const arrays: unknown[][] = [
  [],
  [null, undefined, 'x'],
  ['a"b', 'c\\d', 'e\\"f', '', 'plain', '{x,y}', 'a b', 'NULL', 'ünïcode'],
  [1, 2.5, -3, 0, 10n],
  [true, false],
  ['5ce061b1-306f-5781-a247-09997e81b67e:0', 'Service execution success Bench_Noop::Noop'],
];

test("array literals are node-postgres's, and read back as the arrays they came from", async (t) => {
  for (const values of arrays)
    assert.equal(
      arrayLiteral(values),
      pgUtils.prepareValue(values),
      JSON.stringify(values, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    );
  const date = [new Date()];
  assert.equal(arrayLiteral(date), date, 'an array of anything else is left to node-postgres');

  const db = await createTestDatabase('array_literal');
  t.after(() => db.drop());
  const texts = ['a"b', 'c\\d', 'e\\"f', '', null, '{x,y}', 'a b', 'NULL'];
  const { rows } = await db.pool.query<{ back: (string | null)[] }>('SELECT $1::text[] AS back', [arrayLiteral(texts)]);
  assert.deepEqual(rows[0]!.back, texts);
});

test('the settled ids read by a split are the uuid[] node-postgres reads', async (t) => {
  const db = await createTestDatabase('uuid_array');
  t.after(() => db.drop());
  for (const sql of [
    `SELECT '{}'::uuid[] AS a`,
    `SELECT ARRAY[gen_random_uuid(), NULL, gen_random_uuid()] AS a`,
    `SELECT array_agg(gen_random_uuid()) AS a FROM generate_series(1, 100)`,
  ]) {
    const { rows } = await db.pool.query<{ a: string }>({
      text: sql,
      types: { getTypeParser: () => (v: string) => v },
    });
    const { rows: parsed } = await db.pool.query<{ a: string[] }>(`SELECT $1::uuid[] AS a`, [rows[0]!.a]);
    assert.deepEqual(parseUuidArray(rows[0]!.a), parsed[0]!.a, sql);
  }
});
