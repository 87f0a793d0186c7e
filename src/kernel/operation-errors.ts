/**
 * What a handler throws to say how its operation failed: the consumer classifies these (status 2
 * or 3, Magento's `error_code`), and plugins throw them.
 */

/**
 * Thrown by a handler when trying again later may succeed (a lock, an upstream timeout): the
 * operation becomes status 2 and is retried with backoff up to the configured limit.
 */
export class RetriableError extends Error {
  readonly errorCode: number;
  /**
   * Seconds the automatic retry must wait at least (an upstream's `Retry-After`); the retry comes
   * after the later of this and the configured backoff.
   */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options: { code?: number; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetriableError';
    this.errorCode = options.code ?? 0;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * A failure that retrying cannot fix (status 3), with Magento's numeric `error_code`. Any other
 * thrown error is status 3 with code 0.
 */
export class OperationError extends Error {
  readonly errorCode: number;
  constructor(message: string, options: { code?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'OperationError';
    this.errorCode = options.code ?? 0;
  }
}
