/**
 * `POST /rest[/<store>]/V1/integration/admin/token` (Magento's `AdminTokenServiceInterface`):
 * `{"username": "...", "password": "..."}` in, the token as a JSON string out.
 */
import type { Context } from 'koa';
import type { Pool } from '../db/pool.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { readBody } from '../http/body.ts';
import { sendJson } from '../http/respond.ts';
import { createAdminToken, type AdminTokenPolicy } from './admin.ts';

export const ADMIN_TOKEN_PATH = '/V1/integration/admin/token';
/** Credentials are small; a bigger body is not a login. */
const MAX_BODY_BYTES = 64 * 1024;

/** Answers the admin token route (the app's router sends `POST` of ADMIN_TOKEN_PATH here). */
export function createAdminTokenEndpoint(
  pool: Pool,
  schema: string,
  policy: AdminTokenPolicy,
): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    const text = await readBody(ctx.req, MAX_BODY_BYTES);
    let body: unknown = null;
    if (text !== null && text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        throw new WebapiError(E.DECODING_ERROR);
      }
    }
    const fields =
      body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const { token } = await createAdminToken(pool, schema, fields.username, fields.password, policy);
    sendJson(ctx, 200, token);
  };
}
