/** The shared LISTEN connection bounds its waiters: one over the cap is refused with 503, and leaving frees a place. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { clientFactory, createBulkFinishedListener } from '../../src/status/listener.ts';
import { WebapiError } from '../../src/errors/catalogue.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('listener');
});
after(() => db.drop());

test('at most maxWaiters at once; unsubscribing (twice is harmless) frees a place', async () => {
  const log = { info() {}, warn() {}, error() {}, debug() {} };
  const listener = createBulkFinishedListener({
    connect: clientFactory(db.pool),
    channel: 'test_channel',
    log,
    maxWaiters: 2,
  });
  try {
    const wake = () => {};
    const a = await listener.subscribe('b1', wake);
    const b = await listener.subscribe('b1', wake);
    await assert.rejects(
      listener.subscribe('b2', wake),
      (e: unknown) => e instanceof WebapiError && e.status === 503 && e.code === 'MA_TOO_MANY_WAITERS',
    );
    a();
    a();
    const c = await listener.subscribe('b2', wake);
    await assert.rejects(listener.subscribe('b3', wake), WebapiError);
    b();
    c();
  } finally {
    await listener.close();
  }
});

test('a failed connection leaves no waiter behind', async () => {
  const log = { info() {}, warn() {}, error() {}, debug() {} };
  let fail = true;
  const listener = createBulkFinishedListener({
    connect: async () => {
      if (fail) throw new Error('connect refused');
      return clientFactory(db.pool)();
    },
    channel: 'test_channel',
    log,
    maxWaiters: 1,
  });
  try {
    await assert.rejects(
      listener.subscribe('b1', () => {}),
      /connect refused/,
    );
    fail = false;
    const unsubscribe = await listener.subscribe('b1', () => {});
    unsubscribe();
  } finally {
    await listener.close();
  }
});
