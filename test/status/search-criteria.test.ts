/** Query-string parsing (PHP parse_str rules) and criteria validation, without a database. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileWhere, parseQueryString, parseSearchCriteria } from '../../src/status/search-criteria.ts';
import { WebapiError } from '../../src/errors/catalogue.ts';

test('parse_str rules', () => {
  const cases: [string, unknown][] = [
    ['a=1&b=2', { a: '1', b: '2' }],
    ['a[b][c]=x+y%2Fz', { a: { b: { c: 'x y/z' } } }],
    ['a[]=1&a[]=2', { a: { 0: '1', 1: '2' } }],
    ['a=1&a=2', { a: '2' }],
    ['a[x]=1&a=2', { a: '2' }],
    ['bad%zz=%', { 'bad%zz': '%' }],
    ['=1&&a', { a: '' }],
  ];
  for (const [qs, expected] of cases) assert.equal(JSON.stringify(parseQueryString(qs)), JSON.stringify(expected), qs);
});

test('criteria errors', () => {
  const cases: [string, string][] = [
    ['', 'MA_FIELD_REQUIRED'],
    [
      'searchCriteria[filter_groups][0][filters][0][field]=nope&searchCriteria[filter_groups][0][filters][0][value]=1',
      'MA_SEARCH_FIELD_UNKNOWN',
    ],
    ['searchCriteria[filter_groups][0][filters][0][field]=status', 'MA_FIELD_REQUIRED'],
    ['searchCriteria[page_size]=abc', 'MA_FIELD_TYPE_INVALID'],
    ['searchCriteria[page_size]=0', 'MA_FIELD_VALUE_INVALID'],
    ['searchCriteria[page_size]=1000', 'MA_PAGE_SIZE_TOO_LARGE'],
    ['searchCriteria[sort_orders][0][direction]=ASC', 'MA_FIELD_REQUIRED'],
  ];
  for (const [qs, code] of cases) {
    assert.throws(
      () => parseSearchCriteria(parseQueryString(qs)),
      (e: unknown) => e instanceof WebapiError && e.code === code,
      qs,
    );
  }
});

test('values are parameters, never SQL text', () => {
  const c = parseSearchCriteria(
    parseQueryString(
      "searchCriteria[filter_groups][0][filters][0][field]=topic_name&searchCriteria[filter_groups][0][filters][0][value]=x'%20OR%201=1",
    ),
  );
  const w = compileWhere(c, { userType: 1, userId: 7 });
  assert.equal(w.sql, 'b.user_type = $1::smallint AND b.user_id = $2::int AND (o.topic_name = $3::text)');
  assert.deepEqual(w.values, [1, 7, "x' OR 1=1"]);
});

test('search cost is capped: stored input only null/notnull, the page window bounded', () => {
  const filter = (field: string, conditionType: string) =>
    `searchCriteria[filter_groups][0][filters][0][field]=${field}&searchCriteria[filter_groups][0][filters][0][value]=%25x%25&searchCriteria[filter_groups][0][filters][0][condition_type]=${conditionType}`;
  const refused: [string, string][] = [
    [filter('serialized_data', 'like'), 'MA_SEARCH_FIELD_NOT_SEARCHABLE'],
    [filter('result_serialized_data', 'like'), 'MA_SEARCH_FIELD_NOT_SEARCHABLE'],
    [filter('serialized_data', 'eq'), 'MA_SEARCH_FIELD_NOT_SEARCHABLE'],
    ['searchCriteria[page_size]=300&searchCriteria[current_page]=334', 'MA_SEARCH_PAGE_TOO_DEEP'],
    ['searchCriteria[page_size]=300&searchCriteria[current_page]=1000000000', 'MA_SEARCH_PAGE_TOO_DEEP'],
  ];
  for (const [qs, code] of refused) {
    assert.throws(
      () => parseSearchCriteria(parseQueryString(qs)),
      (e: unknown) => e instanceof WebapiError && e.code === code && e.status === 400,
      qs,
    );
  }
  for (const qs of [
    filter('serialized_data', 'null'),
    filter('serialized_data', 'notnull'),
    filter('result_message', 'like'),
    'searchCriteria[page_size]=300&searchCriteria[current_page]=333',
  ]) {
    assert.doesNotThrow(() => parseSearchCriteria(parseQueryString(qs)), qs);
  }
  assert.throws(
    () =>
      parseSearchCriteria(parseQueryString('searchCriteria[page_size]=10&searchCriteria[current_page]=11'), {
        maxPageSize: 300,
        defaultPageSize: 20,
        maxResultWindow: 100,
      }),
    (e: unknown) => e instanceof WebapiError && e.code === 'MA_SEARCH_PAGE_TOO_DEEP',
  );
});
