/**
 * The webhook signature (docs/webhooks.md): `X-Magento-Async-Signature: v1=<hex>` where `<hex>` is
 * HMAC-SHA256 with the configured secret over `<timestamp>.<body>`, and `<timestamp>` is the
 * `X-Magento-Async-Timestamp` header (Unix seconds). Signing the timestamp lets a receiver refuse
 * replays of an old delivery: the body alone would verify forever.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Magento-Async-Signature';
export const TIMESTAMP_HEADER = 'X-Magento-Async-Timestamp';

export function sign(secret: string, timestamp: number, body: string): string {
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** What a receiver does: constant-time compare, and a timestamp no older than `toleranceSeconds`. */
export function verify(
  secret: string,
  header: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const { signature, timestamp } = header;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(sign(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
