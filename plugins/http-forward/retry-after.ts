/**
 * `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP-date. Anything else (a
 * negative number, a fraction, a date that is not one) is ignored, as the RFC's grammar has no
 * place for it and guessing would delay operations for no stated reason.
 */

/** Longest wait honoured: beyond a day an answer is more likely a misconfiguration than a plan. */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

/** Whole seconds to wait from `now`, or undefined when the header asks for no wait we understand. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    // HTTP-dates always name a weekday and GMT; Date.parse alone also takes "1.5" or "tomorrow"-ish text.
    if (!/^[A-Za-z]{3,9}, .*GMT$|^[A-Za-z]{3} [A-Za-z]{3} /.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    seconds = Math.ceil((at - now) / 1000);
  }
  if (seconds <= 0) return undefined;
  return Math.min(seconds, MAX_RETRY_AFTER_SECONDS);
}
