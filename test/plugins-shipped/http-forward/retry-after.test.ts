/** `Retry-After` as RFC 9110 writes it: delay-seconds or an HTTP-date; anything else is no wait. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RETRY_AFTER_SECONDS, parseRetryAfter } from '../../../plugins/http-forward/retry-after.ts';

const NOW = Date.parse('2026-01-15T10:00:00Z');

const CASES: [string, string | string[] | undefined, number | undefined][] = [
  ['delay-seconds', '120', 120],
  ['delay-seconds with spaces', ' 7 ', 7],
  ['zero: no wait', '0', undefined],
  ['an HTTP-date (IMF-fixdate) 90 s ahead', 'Thu, 15 Jan 2026 10:01:30 GMT', 90],
  ['an HTTP-date (RFC 850)', 'Thursday, 15-Jan-26 10:00:05 GMT', 5],
  ['an HTTP-date in the past: no wait', 'Thu, 15 Jan 2026 09:59:00 GMT', undefined],
  ['a fraction is not delay-seconds', '1.5', undefined],
  ['a negative number', '-3', undefined],
  ['text', 'soon', undefined],
  ['absent', undefined, undefined],
  ['repeated: the first', ['3', '9'], 3],
  ['beyond a day: a day', '999999999', MAX_RETRY_AFTER_SECONDS],
];

for (const [rule, header, seconds] of CASES) {
  test(`Retry-After: ${rule}`, () => {
    assert.equal(parseRetryAfter(header, NOW), seconds);
  });
}
