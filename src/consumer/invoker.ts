/**
 * What the consumer needs from the plugin registry (`PluginRegistry` in src/plugins/registry.ts
 * satisfies it): run an operation's handler with its interceptors.
 */
import type { HandlerContext } from '../kernel/handler.ts';
import type { BatchInvocation } from '../plugins/registry.ts';
import type { Gate } from '../kernel/gate.ts';

export interface Invocation {
  result: unknown;
  /** `<PluginName>::<operationId>`, for `Service execution success <handler>`. */
  handler: string;
}

export interface OperationInvoker {
  invoke(operationId: string, args: unknown, ctx: HandlerContext): Promise<Invocation>;
  /** The batch chain for an operationId, or null to run its operations one by one (batch-handler.ts). */
  batch?(operationId: string): BatchInvocation | null;
  /** The gate an operationId's runs go through (the http-forward upstream's slots), if any. */
  gateOf?(operationId: string): Gate | undefined;
}
