/**
 * Which queues a consumer name means. Magento binds every async topic to `async.operations.all`;
 * we keep one pg-boss queue per entity, so a topic's consumer works its entity's queue (and with it
 * the entity's other topics).
 */
import type { Route } from '../routes/types.ts';
import { ALL_OPERATIONS_CONSUMER, queueForEntity } from '../queue/names.ts';

export interface ConsumerSelection {
  queues: string[];
  /** Said to the operator when the name covers more than they may expect. */
  note?: string;
}

export interface ConsumerListing {
  name: string;
  queue: string;
  topics: string[];
}

export function listConsumers(routes: readonly Route[]): ConsumerListing[] {
  const byEntity = new Map<string, Set<string>>();
  for (const r of routes) {
    if (!byEntity.has(r.entity)) byEntity.set(r.entity, new Set());
    byEntity.get(r.entity)!.add(r.topic);
  }
  const entities = [...byEntity.keys()].sort();
  return [
    { name: ALL_OPERATIONS_CONSUMER, queue: entities.map(queueForEntity).join(', '), topics: ['async.#'] },
    ...entities.map((e) => ({ name: e, queue: queueForEntity(e), topics: [...byEntity.get(e)!].sort() })),
  ];
}

export function selectConsumer(name: string, routes: readonly Route[]): ConsumerSelection {
  const entities = [...new Set(routes.map((r) => r.entity))].sort();
  if (name === ALL_OPERATIONS_CONSUMER) return { queues: entities.map(queueForEntity) };
  const entity = entities.find((e) => e === name || queueForEntity(e) === name);
  if (entity) return { queues: [queueForEntity(entity)] };
  const route = routes.find((r) => r.topic === name);
  if (route) {
    const siblings = [
      ...new Set(routes.filter((r) => r.entity === route.entity && r.topic !== name).map((r) => r.topic)),
    ].sort();
    return {
      queues: [queueForEntity(route.entity)],
      note:
        `Topic ${name} shares the queue ${queueForEntity(route.entity)} with every topic of entity "${route.entity}"` +
        (siblings.length ? ` (${siblings.join(', ')})` : '') +
        `; this consumer runs all of them.`,
    };
  }
  throw new Error(
    `Unknown consumer "${name}". Use ${ALL_OPERATIONS_CONSUMER}, an entity (${entities.join(', ') || 'none'}) or a topic; ` +
      '`magento-async queue:consumers:list` shows them.',
  );
}
