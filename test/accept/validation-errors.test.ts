/** ajv errors → Magento's ServiceInputProcessor errors (source notes §3.4), using real ajv output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { E, errorBody } from '../../src/errors/catalogue.ts';
import { phpStringValue, rejectedItem, renderedMessage, validationError } from '../../src/accept/validation-errors.ts';

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile({
  type: 'object',
  required: ['product'],
  additionalProperties: false,
  properties: {
    product: {
      type: 'object',
      additionalProperties: false,
      required: ['sku'],
      properties: {
        sku: { type: 'string' },
        price: { type: 'number', minimum: 0 },
        qty: { type: 'integer' },
        status: { enum: [1, 2] },
        tags: { type: 'array', items: { type: 'string' } },
        kind: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'integer' }] },
      },
    },
  },
});

function errorFor(data: unknown, index?: number) {
  assert.equal(validate(data), false);
  return validationError(validate.errors, { index, data });
}

const ROWS: ReadonlyArray<{
  rule: string;
  data: unknown;
  index?: number;
  def: unknown;
  parameters: Record<string, unknown>;
  message: string;
}> = [
  {
    rule: 'required → FIELD_REQUIRED with the missing name',
    data: {},
    def: E.FIELD_REQUIRED,
    parameters: { fieldName: 'product' },
    message: '"product" is required. Enter and try again.',
  },
  {
    rule: 'nested required names the property only',
    data: { product: {} },
    def: E.FIELD_REQUIRED,
    parameters: { fieldName: 'sku' },
    message: '"sku" is required. Enter and try again.',
  },
  {
    rule: 'additionalProperties → FIELD_NOT_SUPPORTED with the extra name',
    data: { product: { sku: 'a', wrong_attribute: 'simple' } },
    def: E.FIELD_NOT_SUPPORTED,
    parameters: { fieldName: 'wrong_attribute' },
    message: '"wrong_attribute" is not supported. Correct the field name and try again.',
  },
  {
    rule: 'type → FIELD_TYPE_INVALID, number expected is "float"',
    data: { product: { sku: 'a', price: 'abc' } },
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: 'abc', type: 'float' },
    message: 'The "abc" value\'s type is invalid. The "float" type was expected. Verify and try again.',
  },
  {
    rule: 'type: integer expected is "int", float value printed like PHP',
    data: { product: { sku: 'a', qty: 1.5 } },
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: '1.5', type: 'int' },
    message: 'The "1.5" value\'s type is invalid. The "int" type was expected. Verify and try again.',
  },
  {
    rule: 'type: an object/array value is "array"',
    data: { product: { sku: { x: 1 } } },
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: 'array', type: 'string' },
    message: 'The "array" value\'s type is invalid. The "string" type was expected. Verify and try again.',
  },
  {
    rule: 'type: true prints as "1"',
    data: { product: { sku: true } },
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: '1', type: 'string' },
    message: 'The "1" value\'s type is invalid. The "string" type was expected. Verify and try again.',
  },
  {
    rule: 'type inside a list',
    data: { product: { sku: 'a', tags: ['x', 5] } },
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: '5', type: 'string' },
    message: 'The "5" value\'s type is invalid. The "string" type was expected. Verify and try again.',
  },
  {
    rule: 'minimum → FIELD_VALUE_INVALID',
    data: { product: { sku: 'a', price: -1 } },
    def: E.FIELD_VALUE_INVALID,
    parameters: { value: '-1', fieldName: 'price' },
    message: 'Invalid value of "-1" provided for the price field.',
  },
  {
    rule: 'enum → FIELD_VALUE_INVALID',
    data: { product: { sku: 'a', status: 3 } },
    def: E.FIELD_VALUE_INVALID,
    parameters: { value: '3', fieldName: 'status' },
    message: 'Invalid value of "3" provided for the status field.',
  },
  {
    rule: 'anyOf: the summary error is used',
    data: { product: { sku: 'a', kind: 'long' } },
    def: E.FIELD_VALUE_INVALID,
    parameters: { value: 'long', fieldName: 'kind' },
    message: 'Invalid value of "long" provided for the kind field.',
  },
  {
    rule: "bulk: index and field added after Magento's keys",
    data: { product: { sku: 'a', price: 'abc' } },
    index: 2,
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: 'abc', type: 'float', index: 2, field: 'product.price' },
    message: 'The "abc" value\'s type is invalid. The "float" type was expected. Verify and try again.',
  },
  {
    rule: 'bulk: required field path includes the missing name',
    data: { product: {} },
    index: 0,
    def: E.FIELD_REQUIRED,
    parameters: { fieldName: 'sku', index: 0, field: 'product.sku' },
    message: '"sku" is required. Enter and try again.',
  },
  {
    rule: 'bulk: list indices in the field path',
    data: { product: { sku: 'a', tags: ['x', 5] } },
    index: 1,
    def: E.FIELD_TYPE_INVALID,
    parameters: { value: '5', type: 'string', index: 1, field: 'product.tags.1' },
    message: 'The "5" value\'s type is invalid. The "string" type was expected. Verify and try again.',
  },
];

for (const row of ROWS) {
  test(`validationError: ${row.rule}`, () => {
    const error = errorFor(row.data, row.index);
    assert.equal(error.definition, row.def);
    assert.deepEqual(error.parameters, row.parameters);
    assert.deepEqual(Object.keys(error.parameters as object), Object.keys(row.parameters), 'parameter order');
    assert.equal(renderedMessage(error), row.message);
    assert.equal(error.status, 400);
  });
}

test('validationError: Magento error body (raw template + parameters)', () => {
  assert.deepEqual(errorBody(errorFor({})), {
    message: '"%fieldName" is required. Enter and try again.',
    parameters: { fieldName: 'product' },
  });
});

test('rejectedItem: rendered message and code 0 (partial accept)', () => {
  assert.deepEqual(rejectedItem(errorFor({}, 3)), {
    error_message: '"product" is required. Enter and try again.',
    error_code: 0,
  });
});

test('validationError: JSON-pointer escapes in paths are decoded', () => {
  const error = validationError([{ keyword: 'type', instancePath: '/a~1b/c~0d', params: { type: 'string' } }], {
    index: 0,
    data: { 'a/b': { 'c~d': 5 } },
  });
  assert.deepEqual(error.parameters, { value: '5', type: 'string', index: 0, field: 'a/b.c~d' });
});

test('validationError: no usable ajv error still gives a 400', () => {
  for (const errors of [null, undefined, [], ['junk']]) {
    assert.equal(validationError(errors, { data: {} }).definition, E.FIELD_VALUE_INVALID);
  }
});

test('phpStringValue: PHP string conversion', () => {
  const rows: [unknown, string][] = [
    ['s', 's'],
    [true, '1'],
    [false, ''],
    [null, ''],
    [5, '5'],
    [29.99, '29.99'],
    [0.1 + 0.2, '0.3'],
    [[1], 'array'],
    [{ a: 1 }, 'array'],
  ];
  for (const [value, expected] of rows) assert.equal(phpStringValue(value), expected, String(value));
});
