/**
 * Which bulks get a webhook, decided at accept: the request's `X-Callback-Url`, else the URL
 * configured for the caller's integration. Checked before the accept transaction, so a refused
 * URL is the client's 400 and an accepted bulk's webhook commits with it.
 */
import { ConfigError, type WebhooksConfig } from '../config.ts';
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
  // (Per-integration URLs without a secret, or off the allow-list, are refused at start.)
  if (config.secret === null) throw new WebapiError(E.WEBHOOKS_OFF);
  return allowedUrl(raw, config).href;
}

/** At start: a configured per-integration URL the allow-list refuses is the operator's error. */
export function checkIntegrationUrls(config: WebhooksConfig): void {
  for (const [name, url] of Object.entries(config.integrations)) {
    if (config.secret === null) {
      throw new ConfigError(`Invalid configuration "webhooks.integrations": set "webhooks.secret" to send webhooks`);
    }
    try {
      allowedUrl(url, config);
    } catch {
      throw new ConfigError(
        `Invalid configuration "webhooks.integrations.${name}": ${JSON.stringify(url)} is not on "webhooks.allow"`,
      );
    }
  }
}
