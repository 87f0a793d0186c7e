/**
 * A bulk's and its operations' times (`start_time`, `started_at`, `finished_at`) are whole-second
 * columns, as Magento's are. PostgreSQL rounds a fraction into the nearest second, so an operation
 * finished at 12:00:00.6 would read 12:00:01, after the database's own now() and after a bulk
 * accepted later in that second; MySQL's CURRENT_TIMESTAMP and PHP's date() give the current second.
 * Every writer stamps through here, which truncates as they do. `at` is a timestamptz expression.
 */
export const wholeSecond = (at: string): string => `date_trunc('second', (${at}) AT TIME ZONE 'UTC')`;

/** The current second of the database's clock (its transaction time), in UTC. */
export const DB_SECOND = wholeSecond('now()');
