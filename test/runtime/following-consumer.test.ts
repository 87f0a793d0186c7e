/**
 * A consumer that follows the route tables servers register: a new table restarts it on the
 * union, and a stop that comes while a restart is under way (an operator's Ctrl-C as a server
 * starts) ends it cleanly, each consumer closed once.
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import type { Logger } from '../../src/kernel/logger.ts';
import { importRoutes } from '../../src/runtime/artifacts.ts';
import { startFollowingConsumer, type FollowingConsumer } from '../../src/runtime/following-consumer.ts';
import { publishRouteTable } from '../../src/runtime/route-tables.ts';
import type { Route } from '../../src/routes/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { testConfig } from '../support/server.ts';
import { SAMPLE_GENERATED } from '../support/project.ts';

let db: TestDatabase;
let local: readonly Route[];
before(async () => {
  db = await createTestDatabase('following');
  local = (await importRoutes(SAMPLE_GENERATED)).routes;
});
after(() => db.drop());

/** A logger that calls `on` for the messages it is given, and keeps warnings and errors. */
function watchingLog(on: (msg: string) => void) {
  const problems: string[] = [];
  const write = (level: string) => (obj: object | string, msg?: string) => {
    const text = typeof obj === 'string' ? obj : (msg ?? '');
    if (level !== 'debug' && level !== 'info') problems.push(`${level}: ${text} ${JSON.stringify(obj)}`);
    on(text);
  };
  const log: Logger = { info: write('info'), warn: write('warn'), error: write('error'), debug: write('debug') };
  return { log, problems };
}

test('a stop during a restart on a new route table closes every consumer once', async () => {
  const config = testConfig(db);
  let stopping: Promise<void> | undefined;
  let restarted!: () => void;
  const restarting = new Promise<void>((resolve) => (restarted = resolve));
  // The consumer the logger stops, once it has started.
  const started: { consumer?: FollowingConsumer } = {};
  const { log, problems } = watchingLog((msg) => {
    // The operator's signal, as the restart begins: what `queue:consumers:start` does on SIGTERM.
    if (msg.startsWith('a server registered a new route table') && started.consumer) {
      stopping = started.consumer.consumer.stop();
      restarted();
    }
  });
  const following = (started.consumer = await startFollowingConsumer({
    config,
    name: 'async.operations.all',
    log,
    localRoutes: local,
    pollMs: 20,
  }));
  const before = following.served().version;
  const orders = { ...local[0]!, operationId: 'PostV1OrdersFollowing', entity: 'orders_following' };
  await publishRouteTable(db.pool, db.schema, [orders], 'store.json');

  await restarting;
  await stopping;
  await following.consumer.done;
  // What `queue:consumers:start` does once the consumer is done: it must not end a pool twice.
  await following.close();
  await following.close();
  assert.notEqual(following.served().version, before, 'the restart read the new table');
  assert.deepEqual(problems, []);
});
