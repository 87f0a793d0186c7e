/** Reading the status endpoints' input: query flags, `waitSeconds`, and small JSON bodies. */
import type { Context } from 'koa';
import { E, WebapiError } from '../errors/catalogue.ts';
import { readBody } from '../http/body.ts';
import type { QueryTree } from './search-criteria.ts';

export function waitSeconds(query: QueryTree, max: number): number {
  const raw = query.waitSeconds;
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) > max) {
    throw new WebapiError(E.FIELD_VALUE_INVALID, {
      value: typeof raw === 'string' ? raw : 'array',
      fieldName: 'waitSeconds',
    });
  }
  return Number(raw);
}

export function flag(query: QueryTree, name: string, fallback: boolean): boolean {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new WebapiError(E.FIELD_VALUE_INVALID, { value: typeof raw === 'string' ? raw : 'array', fieldName: name });
}

/** The parsed body, or null when there is none (an empty body means "defaults"). */
export async function jsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  const text = await readBody(ctx.req, maxBytes);
  if (text === null || text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new WebapiError(E.DECODING_ERROR);
  }
}

/** The field to name in "field not supported": the first key of an object, else the value's type. */
export function firstKey(input: unknown): string {
  if (input && typeof input === 'object' && !Array.isArray(input)) return Object.keys(input)[0] ?? '';
  return typeof input;
}
