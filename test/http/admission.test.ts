/** Bounds on accept work in flight: processing slots and body bytes, refused with 503 + Retry-After. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission, BusyError } from '../../src/http/admission.ts';

const busy = (e: unknown) =>
  e instanceof BusyError && e.status === 503 && e.retryAfterSeconds === 2 && e.code === 'MA_SERVER_BUSY';

test('slots: at most maxConcurrent at once; a released slot is free again, releasing twice is harmless', () => {
  const admission = new Admission({ maxConcurrent: 2, maxBytes: 1000, retryAfterSeconds: 2 });
  const a = admission.enter();
  const b = admission.enter();
  assert.throws(() => admission.enter(), busy);
  a();
  a();
  assert.equal(admission.active, 1);
  const c = admission.enter();
  b();
  c();
  assert.equal(admission.active, 0);
});

test('bytes: the first free bytes of each body are not counted; over the budget is busy; release returns them', () => {
  const admission = new Admission({ maxConcurrent: 10, maxBytes: 100, retryAfterSeconds: 2, freeBytesPerRequest: 10 });
  const small = admission.reading();
  small.reserve(10);
  assert.equal(admission.bytes, 0, 'within the free allowance');
  const big = admission.reading();
  big.reserve(60); // 50 counted
  small.reserve(40); // 40 counted
  assert.equal(admission.bytes, 90);
  const third = admission.reading();
  assert.throws(() => third.reserve(25), busy, '15 counted would exceed 100');
  assert.equal(admission.bytes, 90, 'a refused reservation holds nothing');
  third.reserve(20); // 10 counted: exactly at the budget
  assert.equal(admission.bytes, 100);
  big.release();
  big.release();
  assert.equal(admission.bytes, 50);
  small.release();
  third.release();
  assert.equal(admission.bytes, 0);
});
