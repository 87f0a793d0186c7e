export { startConsumer, ABANDONED_MESSAGE, type ConsumerHandle, type ConsumerOptions } from './consumer.ts';
export type { Invocation, OperationInvoker } from './invoker.ts';
export { classifyFailure, isRetriable } from '../operations/status.ts';
