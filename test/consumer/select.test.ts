import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Route } from '../../src/routes/types.ts';
import { listConsumers, selectConsumer } from '../../src/consumer/select.ts';

const route = (entity: string, topic: string) => ({ entity, topic, operationId: topic }) as unknown as Route;
const routes = [
  route('products', 'async.V1.products.POST'),
  route('products', 'async.V1.products.sku.PUT'),
  route('customers', 'async.V1.customers.POST'),
];

describe('selectConsumer', () => {
  it('async.operations.all works every entity queue', () => {
    assert.deepEqual(selectConsumer('async.operations.all', routes), { queues: ['async.customers', 'async.products'] });
  });
  it('an entity (or its queue name) works that queue', () => {
    assert.deepEqual(selectConsumer('products', routes), { queues: ['async.products'] });
    assert.deepEqual(selectConsumer('async.customers', routes), { queues: ['async.customers'] });
  });
  it('a topic works its entity queue and says so', () => {
    const s = selectConsumer('async.V1.products.sku.PUT', routes);
    assert.deepEqual(s.queues, ['async.products']);
    assert.match(s.note!, /shares the queue async\.products .*async\.V1\.products\.POST/);
  });
  it('an unknown name is an error that lists the choices', () => {
    assert.throws(() => selectConsumer('orders', routes), /Unknown consumer "orders".*customers, products/);
  });
});

describe('listConsumers', () => {
  it('lists async.operations.all, then one consumer per entity with its topics', () => {
    assert.deepEqual(listConsumers(routes), [
      { name: 'async.operations.all', queue: 'async.customers, async.products', topics: ['async.#'] },
      { name: 'customers', queue: 'async.customers', topics: ['async.V1.customers.POST'] },
      { name: 'products', queue: 'async.products', topics: ['async.V1.products.POST', 'async.V1.products.sku.PUT'] },
    ]);
  });
});
