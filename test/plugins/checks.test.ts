/**
 * Plugins' checks (`validate`), through the test kit's real server and consumer: a validate-only
 * request answers each item with the check's verdict and writes nothing; the consumer runs the same
 * check right before the handler, so the operation fails with the same message and code without its
 * handler running; a check is read-only and bounded by `validateTimeoutMs` in both places.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import {
  definePlugin,
  OperationError,
  RetriableError,
  STATUS,
  startTestKit,
  type TestKit,
  type ValidateContext,
} from '../../src/testing/index.ts';
import { pluginSchema } from '../../src/plugins/migrations.ts';
import { fingerprint, PGBOSS_TIMERS } from '../support/fingerprint.ts';

// Long enough for the quick checks to be judged in time on a loaded machine.
const TIMEOUT_MS = 1000;
/** The slow check waits until the test lets it go (at the end): it never finishes in time. */
let releaseSlow!: () => void;
const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
const handled: string[] = [];
const batched: string[][] = [];

interface ProductArgs {
  sku?: string;
  product: { sku: string; name?: string };
}

/** The check: its behaviour is chosen by the sku, so one bulk shows every verdict. */
async function check(args: ProductArgs, ctx: ValidateContext): Promise<void> {
  const sku = args.sku ?? args.product.sku;
  if (sku.startsWith('taken')) {
    const { rows } = await ctx.tx.query('SELECT 1 FROM acme_checks_sku WHERE sku = $1', [sku]);
    if (rows.length) throw new OperationError(`The sku "${sku}" is already taken.`, { code: 409 });
  }
  if (sku === 'later') throw new RetriableError('The PIM cannot be reached.', { code: 7 });
  if (sku === 'writer') await ctx.tx.query("INSERT INTO acme_checks_sku (sku) VALUES ('written by a check')");
  if (sku === 'slow') await slow;
  if (sku === 'bug') throw new TypeError("Cannot read properties of undefined (reading 'x')");
  if (sku === 'catches') {
    // A failed statement the check catches: the check's savepoint is rolled back, nothing else.
    await ctx.tx.query('SELECT * FROM acme_checks_no_such_table').catch(() => {});
  }
}

const plugin = definePlugin({
  name: 'Acme_Checks',
  compatibility: '^1.0.0',
  // Operations of one sku run in acceptance order.
  orderKeys: { PostV1Products: ['product.sku'] },
  handlers: {
    async PostV1Products(args: ProductArgs, ctx) {
      handled.push(args.product.sku);
      await ctx.tx.query('INSERT INTO acme_checks_sku (sku) VALUES ($1)', [args.product.sku]);
      return args.product.sku;
    },
    async PutV1ProductsSku(args: ProductArgs) {
      handled.push(args.sku!);
      return args.sku;
    },
  },
  batchHandlers: {
    async PutV1ProductsSku(ops) {
      batched.push(ops.map((o) => (o.args as ProductArgs).sku!));
      return ops.map((o) => ({ ok: true as const, result: (o.args as ProductArgs).sku }));
    },
  },
  validate: { PostV1Products: check, PutV1ProductsSku: check },
});
const module = { default: plugin, migrations: ['CREATE TABLE acme_checks_sku (sku text PRIMARY KEY)'] };

describe('plugin checks', () => {
  let kit: TestKit;
  const everything = () =>
    fingerprint(
      kit,
      [kit.schema, kit.bossSchema, pluginSchema(kit.schema, 'Acme_Checks')],
      // The kit's consumer writes its heartbeat every 5 s whatever a request does.
      [...PGBOSS_TIMERS.map((t) => `${kit.bossSchema}.${t}`), `${kit.schema}.consumer_heartbeat`],
    );
  const product = (sku: string) => ({ product: { sku } });

  before(async () => {
    kit = await startTestKit({ plugins: [module], config: { validateTimeoutMs: TIMEOUT_MS } });
    await kit.run('PostV1Products', product('taken-1'));
  });
  after(async () => {
    releaseSlow();
    await kit.close();
  });

  test('a validate-only request answers each item with its check’s verdict, and writes and runs nothing', async () => {
    handled.length = 0;
    const before = await everything();
    const items = await kit.validate('PostV1Products', [
      product('new-1'),
      product('taken-1'),
      { product: { sku: 7, price: 'cheap' } },
      product('later'),
      product('taken-2'),
    ]);
    assert.deepEqual(await everything(), before);
    assert.deepEqual(handled, []);
    assert.deepEqual(
      items.map((i) => [i.id, i.status, i.error_message ?? null, i.error_code ?? null]),
      [
        [0, 'accepted', null, null],
        [1, 'rejected', 'The sku "taken-1" is already taken.', 409],
        [
          2,
          'rejected',
          'The "cheap" value\'s type is invalid. The "float" type was expected. Verify and try again.',
          0,
        ],
        [3, 'rejected', 'The PIM cannot be reached.', 7],
        [4, 'accepted', null, null],
      ],
    );
    assert.match(items[0]!.data_hash!, /^[0-9a-f]{64}$/);
    assert.equal(items[1]!.data_hash, null);
  });

  test('the consumer runs the same check before the handler: the operation fails with its message and code, unhandled', async () => {
    handled.length = 0;
    const outcomes = await kit.runBulk('PostV1Products', [product('taken-1'), product('fresh-1'), product('later')]);
    assert.deepEqual(
      outcomes.map((o) => [o.key, o.status, o.message, o.errorCode]),
      [
        [0, STATUS.FAILED, 'The sku "taken-1" is already taken.', 409],
        [1, STATUS.COMPLETE, 'Service execution success Acme_Checks::PostV1Products', null],
        [2, STATUS.RETRIABLY_FAILED, 'The PIM cannot be reached.', 7],
      ],
    );
    assert.deepEqual(handled, ['fresh-1']);
  });

  test('checks see the store as it is when they run: an item after the one that creates its sku passes when sent, fails when run', async () => {
    const items = await kit.validate('PostV1Products', [product('taken-3'), product('taken-3')]);
    assert.deepEqual(
      items.map((i) => i.status),
      ['accepted', 'accepted'],
    );
    const outcomes = await kit.runBulk('PostV1Products', [product('taken-3'), product('taken-3')]);
    assert.deepEqual(
      outcomes.map((o) => [o.status, o.message]),
      [
        [STATUS.COMPLETE, 'Service execution success Acme_Checks::PostV1Products'],
        [STATUS.FAILED, 'The sku "taken-3" is already taken.'],
      ],
    );
  });

  test('a check is read-only: its write fails in a validate-only request (500, logged) and in the consumer, and nothing of it remains', async () => {
    const before = await everything();
    const res = await kit.request('POST', '/rest/default/async/bulk/V1/products?validateOnly=true&partialAccept=true', [
      product('writer'),
    ]);
    assert.equal(res.status, 500);
    assert.match(res.body.message, /^Internal Error\. Details are available in the log file\. Report ID: webapi-/);
    assert.deepEqual(await everything(), before);

    handled.length = 0;
    const [outcome] = await kit.runBulk('PostV1Products', [product('writer')]);
    assert.equal(outcome!.status, STATUS.FAILED);
    assert.match(outcome!.message!, /internal error \(25006\)/);
    assert.deepEqual(handled, []);
    const rows = await kit.query('SELECT sku FROM acme_checks_sku WHERE sku = $1', ['written by a check']);
    assert.deepEqual(rows, []);
  });

  test('a statement a check failed and caught does not spoil the handler’s transaction', async () => {
    const [outcome] = await kit.runBulk('PostV1Products', [product('catches')]);
    assert.deepEqual([outcome!.status, outcome!.result], [STATUS.COMPLETE, 'catches']);
    assert.deepEqual(await kit.query('SELECT sku FROM acme_checks_sku WHERE sku = $1', ['catches']), [
      { sku: 'catches' },
    ]);
    // In a validate-only request too: each of the 4 workers' first item fails a statement, and the
    // fifth item, second on one of them, still gets its lookup answered.
    const items = await kit.validate('PostV1Products', [
      ...Array.from({ length: 4 }, () => product('catches')),
      product('taken-1'),
    ]);
    assert.deepEqual(
      items.map((i) => i.error_message ?? i.status),
      ['accepted', 'accepted', 'accepted', 'accepted', 'The sku "taken-1" is already taken.'],
    );
  });

  test('a check’s bug (not an OperationError) is a 500 for the validate-only request, never its message', async () => {
    const res = await kit.request('POST', '/rest/default/async/V1/products?validateOnly=true', product('bug'));
    assert.equal(res.status, 500);
    assert.doesNotMatch(JSON.stringify(res.body), /Cannot read/);
  });

  test('checks past validateTimeoutMs: the validate-only items not judged in time are rejected saying so, the others judged; the operation fails retriably', async () => {
    // Answered while the slow check is still running: the answer did not wait for it.
    const items = await kit.validate('PostV1Products', [product('slow'), product('new-2'), product('new-3')]);
    const timedOut = `The checks of Acme_Checks did not finish within ${TIMEOUT_MS} ms.`;
    // Items are checked a few at a time: the slow one holds its worker only.
    assert.deepEqual(
      items.map((i) => [i.status, i.error_message ?? null]),
      [
        ['rejected', timedOut],
        ['accepted', null],
        ['accepted', null],
      ],
    );
    // An item still waiting for a worker at the deadline is not judged either.
    const many = await kit.validate('PostV1Products', [
      product('slow'),
      product('slow'),
      product('slow'),
      product('slow'),
      product('new-4'),
    ]);
    assert.deepEqual(
      many.map((i) => i.error_message),
      [timedOut, timedOut, timedOut, timedOut, timedOut],
    );
    const [outcome] = await kit.runBulk('PostV1Products', [product('slow')]);
    assert.deepEqual([outcome!.status, outcome!.message], [STATUS.RETRIABLY_FAILED, timedOut]);
  });

  test('with a batch handler, the refused operations fail and the others run in one batch call', async () => {
    handled.length = 0;
    batched.length = 0;
    const outcomes = await kit.runBulk('PutV1ProductsSku', [
      { sku: 'b-1', product: { sku: 'b-1' } },
      { sku: 'taken-1', product: { sku: 'taken-1' } },
      { sku: 'b-2', product: { sku: 'b-2' } },
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.status, o.message]),
      [
        [STATUS.COMPLETE, 'Service execution success Acme_Checks::PutV1ProductsSku'],
        [STATUS.FAILED, 'The sku "taken-1" is already taken.'],
        [STATUS.COMPLETE, 'Service execution success Acme_Checks::PutV1ProductsSku'],
      ],
    );
    assert.deepEqual(handled, []);
    assert.deepEqual(batched.flat().sort(), ['b-1', 'b-2']);
  });
});
