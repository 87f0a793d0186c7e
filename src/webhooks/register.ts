/**
 * Which bulks get a webhook, decided at accept: the request's `X-Callback-Url`, else the URL
 * configured for the caller's integration. Checked before the accept transaction, so a refused
 * URL is the client's 400 and an accepted bulk's webhook commits with it.
 */
import type { WebhooksConfig } from '../config.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { allowedUrl } from './destination.ts';

export const CALLBACK_HEADER = 'X-Callback-Url';

export function callbackUrlFor(
  config: WebhooksConfig,
  header: string | undefined,
  tokenName: string | null,
): string | null {
  const raw = header?.trim() || (tokenName !== null ? config.integrations[tokenName] : undefined);
  if (!raw) return null;
  if (config.secret === null) {
    // A configured per-integration URL without a secret is the operator's mistake, not the client's.
    if (!header) return null;
    throw new WebapiError(E.WEBHOOKS_OFF);
  }
  return allowedUrl(raw, config).href;
}
