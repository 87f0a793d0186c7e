/**
 * The process's logger: pino, JSON lines on stderr. Its own module so that a process that serves
 * no HTTP (a consumer) logs without importing the server and everything it wires (Koa, the status
 * API, the dashboard, webhooks): src/server.ts re-exports it.
 */
import pino from 'pino';
import type { Config } from '../config.ts';
import type { Logger } from '../kernel/logger.ts';

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2)) as unknown as Logger;
}
