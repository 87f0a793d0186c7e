/**
 * An operation's status codes (Magento's OperationInterface) and which status a failure gets
 * (CONTRACT §5, Magento's executeHandler): what trying again may fix is status 2 and retried;
 * everything else is status 3.
 */
import { OperationError, RetriableError } from '../kernel/operation-errors.ts';
import { E, renderTemplate } from '../errors/catalogue.ts';
import type { Outcome } from './operation.ts';

export const STATUS_COMPLETE = 1;
export const STATUS_RETRIABLY_FAILED = 2;
export const STATUS_NOT_RETRIABLY_FAILED = 3;
export const STATUS_OPEN = 4;

export interface Failure {
  status: typeof STATUS_RETRIABLY_FAILED | typeof STATUS_NOT_RETRIABLY_FAILED;
  errorCode: number;
  /**
   * What `result_message` says (kept whole: text here, not Magento's varchar(255)): the message
   * of an error the handler meant for the client, else a generic one (see {@link resultMessage}).
   */
  message: string;
  /** The least delay of the automatic retry, seconds, when the error asked for one (`Retry-After`). */
  retryAfterSeconds?: number;
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

/**
 * Whether a statement failed only because it met another transaction's locks crosswise (a deadlock,
 * or a serialization failure): rolled back to before it, the same statement can simply run again.
 */
export function isLockConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * Runs `transaction` (a whole transaction of its own) again when it lost a lock conflict, at most
 * `attempts` times in all: rolled back whole, nothing of it happened, and the other transaction
 * went on. For the status API's writes (cancel, retry), whose row locks follow their own plan and
 * may cross a consumer's commit, which locks the same operations and jobs in the order of its
 * statement. `onConflict` logs each one (a warning line, not a stack).
 */
export async function retriedOnLockConflict<T>(
  transaction: () => Promise<T>,
  onConflict: (error: unknown, attempt: number) => void,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (!isLockConflict(error) || attempt >= attempts) throw error;
      onConflict(error, attempt);
    }
  }
}

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

export function classifyFailure(error: unknown, operation?: { bulk_uuid: string; operation_key: number }): Failure {
  const code = (error as { errorCode?: unknown } | null)?.errorCode;
  const retriable = isRetriable(error);
  const failure: Failure = {
    status: retriable ? STATUS_RETRIABLY_FAILED : STATUS_NOT_RETRIABLY_FAILED,
    errorCode: typeof code === 'number' && Number.isInteger(code) ? code : 0,
    message: resultMessage(error, operation),
  };
  // Read off the error itself, not its class: a plugin package may bring its own copy of the API.
  const after = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  if (retriable && typeof after === 'number' && Number.isFinite(after) && after > 0) {
    failure.retryAfterSeconds = Math.ceil(after);
  }
  return failure;
}

/** Errors written for the client: a handler's OperationError / RetriableError, our missing-handler and timeout errors. */
const CLIENT_MESSAGES = new Set(['OperationError', 'RetriableError', 'NoHandlerError', 'HandlerTimeoutError']);

/**
 * The `result_message` the status API serves. A handler's OperationError (or RetriableError) says
 * what it means to say; any other error's message can hold internals (a pg error naming tables and
 * values, an upstream URL, a file path), so it becomes a generic message naming a code (SQLSTATE,
 * Node error code or error class) and the operation, and the detail goes to the consumer's log only
 * (the caller logs the error itself beside the operation).
 */
export function resultMessage(error: unknown, operation?: { bulk_uuid: string; operation_key: number }): string {
  const name = error instanceof Error ? error.name : '';
  if (error instanceof OperationError || error instanceof RetriableError || CLIENT_MESSAGES.has(name)) {
    const message = (error as Error).message;
    return message || name;
  }
  const rawCode = (error as { code?: unknown } | null)?.code;
  const code =
    typeof rawCode === 'string' && /^[A-Z0-9_]{1,40}$/.test(rawCode)
      ? rawCode
      : /^[A-Za-z]{1,40}$/.test(name)
        ? name
        : 'Error';
  const id = operation ? `${operation.bulk_uuid}/${operation.operation_key}` : 'unknown';
  return renderTemplate(E.OPERATION_INTERNAL_ERROR.template, { code, operation: id });
}

/** The outcome of a run that succeeded: Magento stores the JSON of the service output, `null` for a void method. */
export function successOutcome(handler: string, result: unknown): Outcome {
  return {
    status: STATUS_COMPLETE,
    errorCode: null,
    message: `Service execution success ${handler}`,
    result: result === undefined || result === null ? 'null' : JSON.stringify(result),
  };
}

/** The outcome of a run that failed with `error`. */
export function failureOutcome(error: unknown, operation?: { bulk_uuid: string; operation_key: number }): Outcome {
  const failure = classifyFailure(error, operation);
  return {
    status: failure.status,
    errorCode: failure.errorCode,
    message: failure.message,
    result: null,
    retryAfterSeconds: failure.retryAfterSeconds,
  };
}

/**
 * What a log line carries of an error. One that goes away on its own (a deadlock, a serialization
 * failure, a lost connection: {@link isRetriable}) is expected now and then and handled (the work
 * runs again): its code and message, one line. Anything else is logged whole, stack and all.
 */
export function errorLogFields(error: unknown): { err: unknown } | { reason: string } {
  if (!isRetriable(error) || !(error instanceof Error)) return { err: error };
  const code = (error as { code?: unknown }).code;
  return { reason: typeof code === 'string' ? `${code} ${error.message}` : `${error.name}: ${error.message}` };
}
