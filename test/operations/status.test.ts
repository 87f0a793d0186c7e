/**
 * What a failed operation's result_message says: a handler's own message when it meant one for the
 * client, a generic one naming a code and the operation for anything else (pg errors, upstream
 * URLs and file paths stay in the consumer's log).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure, resultMessage } from '../../src/operations/status.ts';
import { OperationError, RetriableError } from '../../src/plugin.ts';

const OP = { bulk_uuid: '6f1c2c8e-2d7a-4d5e-9a51-0d7f3c1e2b44', operation_key: 3 };
const generic = (code: string) =>
  `The operation failed with an internal error (${code}). Details are in the consumer log under operation ${OP.bulk_uuid}/3.`;

function pgError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const CASES: [string, unknown, string][] = [
  [
    'an OperationError keeps its message',
    new OperationError('The "sku" is invalid.', { code: 42 }),
    'The "sku" is invalid.',
  ],
  ['a RetriableError keeps its message', new RetriableError('Upstream busy, retrying'), 'Upstream busy, retrying'],
  [
    'an OperationError of another copy of the plugin API (by name) keeps its message',
    Object.assign(new Error('Duplicate email'), { name: 'OperationError' }),
    'Duplicate email',
  ],
  [
    'a pg error names its SQLSTATE only',
    pgError('duplicate key value violates unique constraint "customer_entity_email_website"', '23505'),
    generic('23505'),
  ],
  [
    'a socket error names its code, not the upstream URL',
    pgError('connect ECONNREFUSED 10.0.0.5:443 https://admin:pw@upstream.internal/rest', 'ECONNREFUSED'),
    generic('ECONNREFUSED'),
  ],
  [
    'a TypeError names its class, not the file',
    new TypeError("Cannot read properties of undefined (reading 'x') at /srv/app/plugins/x.ts:3"),
    generic('TypeError'),
  ],
  ['a thrown string', 'SELECT * FROM secrets', generic('Error')],
  ['a code that is not a plain code falls back to the class', pgError('x', 'has spaces; DROP'), generic('Error')],
];

for (const [rule, error, expected] of CASES) {
  test(`result_message: ${rule}`, () => {
    assert.equal(resultMessage(error, OP), expected);
  });
}

test('classification is unchanged by the sanitising: status, code', () => {
  assert.deepEqual(classifyFailure(pgError('deadlock detected on relation "x"', '40P01'), OP), {
    status: 2,
    errorCode: 0,
    message: generic('40P01'),
  });
  assert.deepEqual(classifyFailure(new OperationError('bad', { code: 7 }), OP), {
    status: 3,
    errorCode: 7,
    message: 'bad',
  });
});

const RETRY_AFTER: [string, unknown, number | undefined][] = [
  ['a RetriableError passes on its Retry-After', new RetriableError('busy', { retryAfterSeconds: 30 }), 30],
  ['whole seconds, rounded up', new RetriableError('busy', { retryAfterSeconds: 1.2 }), 2],
  [
    'a RetriableError of another copy of the plugin API (by name)',
    Object.assign(new Error('busy'), { name: 'RetriableError', retryAfterSeconds: 5 }),
    5,
  ],
  ['none asked for', new RetriableError('busy'), undefined],
  ['zero or less is none', new RetriableError('busy', { retryAfterSeconds: -1 }), undefined],
  [
    'a final failure has no retry to delay',
    Object.assign(new OperationError('bad'), { retryAfterSeconds: 30 }),
    undefined,
  ],
];

for (const [rule, error, seconds] of RETRY_AFTER) {
  test(`retry delay: ${rule}`, () => {
    assert.equal(classifyFailure(error, OP).retryAfterSeconds, seconds);
  });
}
