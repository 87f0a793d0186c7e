/**
 * The time the product stamps where a client reads it back (a bulk's `start_time`) and measures
 * ages by (retention): the system's in production; a test sets its own, as Magento's fixtures name
 * their times, so the answers it compares byte for byte are written by the real accept.
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/**
 * A `timestamp` column's value (UTC, no zone) as text; writers of the whole-second columns truncate
 * it to its second (src/db/sql/seconds.ts).
 */
export function utcTimestamp(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}
