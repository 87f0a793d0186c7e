/**
 * Generated handler stubs: marked so that a real handler elsewhere always wins over one, and failing
 * their operation with a message that names the file to edit.
 */
import type { AnyArgs, Handler } from '../kernel/handler.ts';
import { OperationError } from '../kernel/operation-errors.ts';

/** Marks handlers that are generated stubs: a real handler elsewhere always wins over one. */
export const NOT_IMPLEMENTED: unique symbol = Symbol.for('magento-async.notImplemented');

export type StubHandler = Handler & { [NOT_IMPLEMENTED]: string };

/** What a generated stub calls: fails its operation with a message naming itself. */
export function notImplemented<A = AnyArgs>(where: string): Handler<A, never> {
  const handler = (() => {
    throw new OperationError(`Handler ${where} is not implemented yet: edit ${where.split('#')[0]}`);
  }) as unknown as StubHandler;
  handler[NOT_IMPLEMENTED] = where;
  return handler as unknown as Handler<A, never>;
}

export function isStub(handler: unknown): handler is StubHandler {
  return typeof handler === 'function' && NOT_IMPLEMENTED in handler;
}
