/**
 * A consumer process's own metrics port: `queue:consumers:start --metrics-port 0` prints where it
 * serves /metrics, which answers while it runs, with the consumer's heartbeat counted alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consumerConfig, startConsumerCommand } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';

test('queue:consumers:start --metrics-port 0 serves /metrics on its own port until it stops', async (t) => {
  const db = await createTestDatabase('consumer-metrics');
  t.after(() => db.drop());
  const consumer = startConsumerCommand(t, db, consumerConfig(t, db, { metrics: { loopbackOnly: true } }), [
    'queue:consumers:start',
    'async.operations.all',
    '--metrics-port',
    '0',
  ]);
  const url = await waitFor(
    () => /Metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(consumer.stdout())?.[1],
    30_000,
    'the metrics URL',
  ).catch(() => assert.fail(`no metrics URL printed:\n${consumer.stdout()}\n${consumer.stderr()}`));
  const text = await (await fetch(url)).text();
  assert.match(text, /^# TYPE magento_async_processed_operations_total counter$/m);
  assert.match(text, /^magento_async_consumers_alive 1$/m);
  const other = await fetch(url.replace('/metrics', '/other'));
  assert.equal(other.status, 404);
  await other.text();
  // The whole process group, as a terminal's Ctrl-C or a supervisor would.
  consumer.signal('SIGTERM');
  assert.equal(await consumer.exited, 0, consumer.stderr());
});
