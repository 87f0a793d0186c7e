/**
 * Failure classification (CONTRACT §5, Magento's executeHandler): what trying again may fix is
 * status 2 and retried; everything else is status 3.
 */
import { RetriableError } from '../plugins/api.ts';

export const STATUS_COMPLETE = 1;
export const STATUS_RETRIABLY_FAILED = 2;
export const STATUS_NOT_RETRIABLY_FAILED = 3;
export const STATUS_OPEN = 4;

export interface Failure {
  status: typeof STATUS_RETRIABLY_FAILED | typeof STATUS_NOT_RETRIABLY_FAILED;
  errorCode: number;
  /** Kept whole: `result_message` is text here, not Magento's varchar(255). */
  message: string;
}

/** SQLSTATEs of failures that go away on their own: serialization, deadlock, locks, shutdowns, connections. */
const RETRIABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout, NOWAIT)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006', // connection exceptions
]);

const RETRIABLE_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
]);

export function isRetriable(error: unknown): boolean {
  if (error instanceof RetriableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; retriable?: unknown; code?: unknown; message?: unknown; cause?: unknown };
  // A second copy of the plugin API (a plugin package with its own install) has its own class.
  if (e.name === 'RetriableError' || e.retriable === true) return true;
  if (typeof e.code === 'string' && (RETRIABLE_SQLSTATES.has(e.code) || RETRIABLE_NODE_CODES.has(e.code))) return true;
  if (typeof e.message === 'string' && /Connection terminated|connection timeout/i.test(e.message)) return true;
  // fetch() wraps the socket error: `TypeError: fetch failed` with the real one as cause.
  return e.cause !== undefined && e.cause !== error && isRetriable(e.cause);
}

export function classifyFailure(error: unknown): Failure {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { errorCode?: unknown } | null)?.errorCode;
  return {
    status: isRetriable(error) ? STATUS_RETRIABLY_FAILED : STATUS_NOT_RETRIABLY_FAILED,
    errorCode: typeof code === 'number' && Number.isInteger(code) ? code : 0,
    message: message || (error instanceof Error ? error.name : 'Unknown error'),
  };
}
