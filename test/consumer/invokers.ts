/** Tiny stand-ins for the plugin registry: a map of handlers keyed by operationId. */
import type { HandlerContext } from '../../src/plugin.ts';
import type { Invocation, OperationInvoker } from '../../src/consumer/invoker.ts';

export type TestHandler = (args: any, ctx: HandlerContext) => unknown;

export class NoHandlerError extends Error {
  constructor(operationId: string) {
    super(`No handler for operation ${operationId}`);
    this.name = 'NoHandlerError';
  }
}

export function mapInvoker(handlers: Record<string, TestHandler>, plugin = 'Test_Plugin'): OperationInvoker {
  return {
    async invoke(operationId, args, ctx): Promise<Invocation> {
      const handler = handlers[operationId];
      if (!handler) throw new NoHandlerError(operationId);
      return { result: await handler(args, ctx), handler: `${plugin}::${operationId}` };
    },
  };
}
