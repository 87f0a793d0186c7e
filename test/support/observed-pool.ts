/**
 * A pool that tells the test about the queries run through it: the text when one is sent, and the
 * text with its result when it comes back. A test then waits for what the code under test asked of
 * the database (a fetch that found nothing, a reload that finished) instead of for a time.
 */
import type { QueryConfig, QueryResult } from 'pg';
import type { Pool } from '../../src/db/pool.ts';

export interface QueryObserver {
  sent?(text: string, values: readonly unknown[]): void;
  answered?(text: string, values: readonly unknown[], result: QueryResult): void;
}

export function observedPool(pool: Pool, observer: QueryObserver): Pool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return async (config: string | QueryConfig, values?: unknown[]) => {
          const text = typeof config === 'string' ? config : config.text;
          const sentValues = values ?? (typeof config === 'string' ? [] : (config.values ?? []));
          observer.sent?.(text, sentValues);
          const result = await (target.query as (c: unknown, v?: unknown[]) => Promise<QueryResult>)(config, values);
          observer.answered?.(text, sentValues, result);
          return result;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
