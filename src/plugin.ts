/**
 * `magento-async/plugin`: what an extension author imports to write a plugin. A public entry point
 * only: modules of the framework import what they need from src/kernel/ and src/plugins/, never
 * from here (test/kernel/layering.test.ts holds that).
 */
export { definePlugin } from './plugins/define.ts';
export type { Interceptor, PluginDefinition, ResultOf, ServiceArgs, TypedInterceptor } from './plugins/define.ts';
export { NOT_IMPLEMENTED, isStub, notImplemented, type StubHandler } from './plugins/stubs.ts';
export { OperationError, RetriableError } from './kernel/operation-errors.ts';
export { savepoint, type Queryable } from './kernel/queryable.ts';
export type {
  AnyArgs,
  BatchHandler,
  BatchHandlerContext,
  BatchOperation,
  BatchOutcome,
  Handler,
  HandlerContext,
  OperationInfo,
  ValidateContext,
  Validator,
} from './kernel/handler.ts';
export type { Logger } from './kernel/logger.ts';
export type { StoreScope } from './kernel/store-scope.ts';
export type { Caller } from './kernel/caller.ts';
export type { Requirement, Requires } from './kernel/requirement.ts';
