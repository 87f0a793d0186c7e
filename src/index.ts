/**
 * `magento-async`: what a program embedding the framework imports: the server, the consumer, the
 * configuration and what codegen generates for them (the route table's types). A public entry
 * point only: modules of the framework never import it (test/kernel/layering.test.ts). Plugins
 * import `magento-async/plugin`; their tests `magento-async/testing`.
 */
export { loadConfig, ConfigError, type Config } from './config.ts';
export { createLogger, startServer, type RunningServer, type ServerOptions } from './server.ts';
export { startConfiguredConsumer, type ConfiguredConsumer, type ConfiguredConsumerOptions } from './consumer/run.ts';
export {
  startFollowingConsumer,
  type FollowingConsumer,
  type FollowingConsumerOptions,
} from './runtime/following-consumer.ts';
export { loadArtifacts, importArtifacts, type Artifacts } from './runtime/artifacts.ts';
export { migrate } from './db/migrate.ts';
export type { Route, RouteParameter, WriteMethod } from './routes/types.ts';
export type { InputValidator } from './accept/prepare.ts';
export type { Logger } from './kernel/logger.ts';
export type { StoreScope } from './kernel/store-scope.ts';
export type { Caller } from './kernel/caller.ts';
