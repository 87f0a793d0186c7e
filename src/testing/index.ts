/**
 * `magento-async/testing`: what a plugin's tests import. A kit runs operations through the same
 * server, consumer and plugin loader as production (see kit.ts); the plugin API is re-exported so
 * a test needs one import.
 */
export {
  SAMPLE_SPEC,
  STATUS,
  RequestRejectedError,
  startTestKit,
  type ItemVerdict,
  type KitResponse,
  type OperationOutcome,
  type PluginSource,
  type RunOptions,
  type TestKit,
  type TestKitOptions,
} from './kit.ts';
export { definePlugin } from '../plugins/define.ts';
export { OperationError, RetriableError } from '../kernel/operation-errors.ts';
export type { HandlerContext, ValidateContext } from '../kernel/handler.ts';
export type { PluginDefinition } from '../plugins/define.ts';
