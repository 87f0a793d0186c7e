/**
 * Magento search criteria for `GET /V1/bulk` (source notes §6): parsed from the raw query string
 * with PHP's bracket syntax (`searchCriteria[filter_groups][0][filters][0][field]=status`), checked
 * against a whitelist of fields and conditions, and compiled to a WHERE clause whose values are
 * all bind parameters. Nothing a client sends is ever spliced into SQL text: field names select a
 * fixed column expression, condition types a fixed operator, directions a fixed keyword.
 */
import { E, WebapiError } from '../errors/catalogue.ts';
import { STATUS_ERRORS } from './errors.ts';

/** A parsed query string: PHP's `parse_str` tree (values are strings, brackets make objects). */
export type QueryTree = { [key: string]: QueryNode };
export type QueryNode = string | QueryTree;

/** PHP's `max_input_vars` default: more pairs than this are ignored, as PHP does. */
const MAX_PAIRS = 1000;
/** PHP's `max_input_nesting_level` is 64; search criteria need 5, so deeper keys are cut short. */
const MAX_DEPTH = 8;

function decode(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    // A stray `%` is kept as is (PHP's urldecode leaves invalid escapes alone).
    return plus.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}

/**
 * PHP `parse_str` semantics for what search criteria need: `a[b][c]=v` nests, `a[]=v` appends,
 * a repeated key keeps the last value, `+` is a space. Keys never reach SQL.
 */
export function parseQueryString(querystring: string): QueryTree {
  const root: QueryTree = Object.create(null) as QueryTree;
  const pairs = querystring === '' ? [] : querystring.split('&').slice(0, MAX_PAIRS);
  for (const pair of pairs) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const open = rawKey.indexOf('[');
    const base = open <= 0 ? rawKey : rawKey.slice(0, open);
    if (base === '') continue;
    const path = [base];
    if (open > 0) {
      const re = /\[([^\]]*)\]/gy;
      re.lastIndex = open;
      let m: RegExpExecArray | null;
      while ((m = re.exec(rawKey)) && path.length < MAX_DEPTH) path.push(m[1]!);
    }
    let node: QueryTree = root;
    for (let i = 0; i < path.length; i++) {
      let key = path[i]!;
      if (key === '' && i > 0) key = String(nextIndex(node));
      if (i === path.length - 1) {
        node[key] = value;
      } else {
        const child = node[key];
        if (child === undefined || typeof child === 'string') {
          const created: QueryTree = Object.create(null) as QueryTree;
          node[key] = created;
          node = created;
        } else node = child;
      }
    }
  }
  return root;
}

function nextIndex(node: QueryTree): number {
  let max = -1;
  for (const k of Object.keys(node)) if (/^\d+$/.test(k)) max = Math.max(max, Number(k));
  return max + 1;
}

export type ConditionType = 'eq' | 'neq' | 'gt' | 'gteq' | 'lt' | 'lteq' | 'in' | 'nin' | 'like' | 'null' | 'notnull';
const CONDITIONS = new Set<string>(['eq', 'neq', 'gt', 'gteq', 'lt', 'lteq', 'in', 'nin', 'like', 'null', 'notnull']);

export interface Filter {
  field: string;
  value: string;
  conditionType: ConditionType;
}
export interface SortOrder {
  field: string;
  direction: 'ASC' | 'DESC' | null;
}
export interface SearchCriteria {
  filterGroups: Filter[][];
  sortOrders: SortOrder[] | null;
  pageSize: number;
  currentPage: number | null;
}

export interface SearchLimits {
  /** Magento's `webapi/validation/maximum_page_size` (300). */
  maxPageSize: number;
  /** Magento's `webapi/validation/default_page_size` (20), applied when none is given. */
  defaultPageSize: number;
  /**
   * Deepest row a page may reach, `currentPage × pageSize` (beyond Magento): an OFFSET makes the
   * database read and drop every row before the page, so a far page costs a scan. 100,000.
   */
  maxResultWindow?: number;
}

export const DEFAULT_SEARCH_LIMITS: Required<SearchLimits> = {
  maxPageSize: 300,
  defaultPageSize: 20,
  maxResultWindow: 100_000,
};
const MAX_FILTERS = 50;
const MAX_LIST_VALUES = 1000;
const MAX_SORT_ORDERS = 10;

type FieldType = 'int' | 'uuid' | 'text' | 'timestamp' | 'stored';
/**
 * Filterable and sortable fields. `id` is the operation's index in its bulk (`operation_key`),
 * because that is what every response calls `id` (CONTRACT §4); `operation_key` is accepted too.
 */
const FIELDS: Record<string, { expr: string; type: FieldType }> = {
  id: { expr: 'o.operation_key', type: 'int' },
  operation_key: { expr: 'o.operation_key', type: 'int' },
  bulk_uuid: { expr: 'o.bulk_uuid', type: 'uuid' },
  topic_name: { expr: 'o.topic_name', type: 'text' },
  status: { expr: 'o.status', type: 'int' },
  error_code: { expr: 'o.error_code', type: 'int' },
  result_message: { expr: 'o.result_message', type: 'text' },
  // Stored input and results: up to megabytes per row, unindexed, and the input may hold what a
  // client sent in confidence. Only `null` / `notnull` (and sorting) apply to them.
  serialized_data: { expr: 'o.serialized_data', type: 'stored' },
  result_serialized_data: { expr: 'o.result_serialized_data', type: 'stored' },
  start_time: { expr: 'b.start_time', type: 'timestamp' },
};

/** Magento's data objects accept both `page_size` and `pageSize` (SimpleDataObjectConverter). */
function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function entries(node: QueryNode | undefined, fieldName: string): QueryNode[] {
  if (node === undefined || node === '') return [];
  if (typeof node === 'string') throw new WebapiError(E.FIELD_TYPE_INVALID, { value: node, type: `${fieldName}[]` });
  // PHP arrays keep insertion order; Magento turns them into lists in that order.
  return Object.values(node);
}

function str(node: QueryNode | undefined, fieldName: string): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node !== 'string') throw new WebapiError(E.FIELD_TYPE_INVALID, { value: 'array', type: 'string' });
  void fieldName;
  return node;
}

function integer(node: QueryNode | undefined, fieldName: string, max: number): number | undefined {
  const s = str(node, fieldName);
  if (s === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(s)) throw new WebapiError(E.FIELD_TYPE_INVALID, { value: s, type: 'int' });
  const n = Number(s.trim());
  if (n < 1 || n > max) throw new WebapiError(E.FIELD_VALUE_INVALID, { value: s, fieldName });
  return n;
}

function checkKeys(node: QueryTree, allowed: readonly string[]): void {
  for (const key of Object.keys(node)) {
    if (!allowed.includes(camel(key))) throw new WebapiError(E.FIELD_NOT_SUPPORTED, { fieldName: key });
  }
}

function get(node: QueryTree, camelKey: string): QueryNode | undefined {
  for (const key of Object.keys(node)) if (camel(key) === camelKey) return node[key];
  return undefined;
}

/** The `searchCriteria` argument, validated; throws Magento's 400s. */
export function parseSearchCriteria(query: QueryTree, limits: SearchLimits = DEFAULT_SEARCH_LIMITS): SearchCriteria {
  const raw = query.searchCriteria;
  if (raw === undefined) throw new WebapiError(E.FIELD_REQUIRED, { fieldName: 'searchCriteria' });
  // `?searchCriteria=` is Magento's idiom for "no criteria": everything, first page.
  const sc: QueryTree = typeof raw === 'string' ? (Object.create(null) as QueryTree) : raw;
  checkKeys(sc, ['filterGroups', 'sortOrders', 'pageSize', 'currentPage']);

  let filterCount = 0;
  const filterGroups: Filter[][] = [];
  for (const group of entries(get(sc, 'filterGroups'), 'filter_groups')) {
    if (typeof group === 'string') throw new WebapiError(E.FIELD_TYPE_INVALID, { value: group, type: 'FilterGroup' });
    checkKeys(group, ['filters']);
    const filters: Filter[] = [];
    for (const f of entries(get(group, 'filters'), 'filters')) {
      if (typeof f === 'string') throw new WebapiError(E.FIELD_TYPE_INVALID, { value: f, type: 'Filter' });
      checkKeys(f, ['field', 'value', 'conditionType']);
      if (++filterCount > MAX_FILTERS) {
        throw new WebapiError(STATUS_ERRORS.SEARCH_TOO_COMPLEX, { max: MAX_FILTERS, what: 'filters' });
      }
      const field = str(get(f, 'field'), 'field');
      if (field === undefined || field === '') throw new WebapiError(E.FIELD_REQUIRED, { fieldName: 'field' });
      if (!Object.hasOwn(FIELDS, field)) throw new WebapiError(E.SEARCH_FIELD_UNKNOWN, { field });
      // Magento's Filter::getConditionType defaults to `eq`.
      const conditionType = str(get(f, 'conditionType'), 'condition_type') || 'eq';
      if (!CONDITIONS.has(conditionType)) throw new WebapiError(E.SEARCH_CONDITION_INVALID, { conditionType });
      if (FIELDS[field]!.type === 'stored' && conditionType !== 'null' && conditionType !== 'notnull') {
        throw new WebapiError(E.SEARCH_FIELD_NOT_SEARCHABLE, { conditionType, field });
      }
      const value = str(get(f, 'value'), 'value');
      if (value === undefined && conditionType !== 'null' && conditionType !== 'notnull') {
        throw new WebapiError(E.FIELD_REQUIRED, { fieldName: 'value' });
      }
      filters.push({ field, value: value ?? '', conditionType: conditionType as ConditionType });
    }
    filterGroups.push(filters);
  }

  let sortOrders: SortOrder[] | null = null;
  const rawSorts = get(sc, 'sortOrders');
  if (rawSorts !== undefined) {
    sortOrders = [];
    for (const so of entries(rawSorts, 'sort_orders')) {
      if (typeof so === 'string') throw new WebapiError(E.FIELD_TYPE_INVALID, { value: so, type: 'SortOrder' });
      checkKeys(so, ['field', 'direction']);
      if (sortOrders.length >= MAX_SORT_ORDERS) {
        throw new WebapiError(STATUS_ERRORS.SEARCH_TOO_COMPLEX, { max: MAX_SORT_ORDERS, what: 'sort orders' });
      }
      const field = str(get(so, 'field'), 'field');
      if (field === undefined || field === '') throw new WebapiError(E.FIELD_REQUIRED, { fieldName: 'field' });
      if (!Object.hasOwn(FIELDS, field)) throw new WebapiError(E.SEARCH_FIELD_UNKNOWN, { field });
      const dir = str(get(so, 'direction'), 'direction');
      let direction: 'ASC' | 'DESC' | null = null;
      if (dir !== undefined) {
        const upper = dir.toUpperCase();
        if (upper !== 'ASC' && upper !== 'DESC') {
          throw new WebapiError(STATUS_ERRORS.SORT_DIRECTION_INVALID, ['ASC', 'DESC']);
        }
        direction = upper;
      }
      sortOrders.push({ field, direction });
    }
  }

  const rawPageSize = get(sc, 'pageSize');
  let pageSize = limits.defaultPageSize;
  if (rawPageSize !== undefined) {
    const s = str(rawPageSize, 'page_size')!;
    if (!/^\s*[+-]?\d+\s*$/.test(s)) throw new WebapiError(E.FIELD_TYPE_INVALID, { value: s, type: 'int' });
    const n = Number(s.trim());
    if (n > limits.maxPageSize) throw new WebapiError(E.PAGE_SIZE_TOO_LARGE, { max: limits.maxPageSize });
    // Magento would treat 0 as "no limit" (everything at once); we refuse it instead.
    if (n < 1) throw new WebapiError(E.FIELD_VALUE_INVALID, { value: s, fieldName: 'page_size' });
    pageSize = n;
  }
  const currentPage = integer(get(sc, 'currentPage'), 'current_page', 1_000_000_000) ?? null;
  const window = limits.maxResultWindow ?? DEFAULT_SEARCH_LIMITS.maxResultWindow;
  if ((currentPage ?? 1) * pageSize > window) throw new WebapiError(E.SEARCH_PAGE_TOO_DEEP, { max: window });
  return { filterGroups, sortOrders, pageSize, currentPage };
}

/** Magento's echo of the criteria (SearchCriteriaInterface getter order, snake_case, nulls omitted). */
export function echoSearchCriteria(c: SearchCriteria): Record<string, unknown> {
  const out: Record<string, unknown> = {
    filter_groups: c.filterGroups.map((filters) => ({
      filters: filters.map((f) => ({ field: f.field, value: f.value, condition_type: f.conditionType })),
    })),
  };
  if (c.sortOrders) {
    out.sort_orders = c.sortOrders.map((s) =>
      s.direction ? { field: s.field, direction: s.direction } : { field: s.field },
    );
  }
  out.page_size = c.pageSize;
  if (c.currentPage !== null) out.current_page = c.currentPage;
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

const INT = /^[+-]?\d{1,18}$/;

/** `YYYY-MM-DD[ HH:MM[:SS]]` (or `T`), a real calendar date: Postgres would fail on 2010-02-30. */
function isTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (!m) return false;
  const [y, mo, d, h = '0', mi = '0', se = '0'] = m.slice(1).map((x) => x ?? '0') as string[];
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)));
  return (
    Number(y) >= 1 &&
    date.getUTCFullYear() === Number(y) &&
    date.getUTCMonth() === Number(mo) - 1 &&
    date.getUTCDate() === Number(d) &&
    Number(h) < 24 &&
    Number(mi) < 60 &&
    Number(se) < 60
  );
}

export interface CompiledWhere {
  sql: string;
  values: unknown[];
}

/**
 * Compiles filter groups (OR inside a group, AND across groups) plus an optional owner restriction.
 * `values` is extended in place; placeholders are numbered after what it already holds.
 */
export function compileWhere(
  c: SearchCriteria,
  owner: { userType: number; userId: number } | null,
  values: unknown[] = [],
): CompiledWhere {
  const param = (v: unknown, cast: string) => {
    values.push(v);
    return `$${values.length}::${cast}`;
  };
  const and: string[] = [];
  if (owner)
    and.push(`b.user_type = ${param(owner.userType, 'smallint')} AND b.user_id = ${param(owner.userId, 'int')}`);
  for (const group of c.filterGroups) {
    if (group.length === 0) continue;
    and.push(`(${group.map((f) => compileFilter(f, param)).join(' OR ')})`);
  }
  return { sql: and.length === 0 ? 'TRUE' : and.join(' AND '), values };
}

const OPERATORS: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gteq: '>=', lt: '<', lteq: '<=' };

function compileFilter(f: Filter, param: (v: unknown, cast: string) => string): string {
  const { expr, type } = FIELDS[f.field]!;
  const invalid = () => new WebapiError(E.FIELD_VALUE_INVALID, { value: f.value, fieldName: f.field });
  switch (f.conditionType) {
    case 'null':
      return `${expr} IS NULL`;
    case 'notnull':
      return `${expr} IS NOT NULL`;
    case 'like':
      // MySQL's default collations make Magento's LIKE case-insensitive; ILIKE keeps that.
      return `${expr}::text ILIKE ${param(f.value, 'text')}`;
    case 'in':
    case 'nin': {
      const parts = f.value.split(',');
      if (parts.length > MAX_LIST_VALUES) {
        throw new WebapiError(STATUS_ERRORS.SEARCH_TOO_COMPLEX, { max: MAX_LIST_VALUES, what: 'values in a list' });
      }
      let list: unknown[];
      let cast: string;
      switch (type) {
        case 'int':
          list = parts.map((p) => p.trim());
          if (!list.every((p) => INT.test(p as string))) throw invalid();
          cast = 'bigint[]';
          break;
        case 'uuid':
          // A value that is not a uuid matches no operation: dropping it is exact, not lenient.
          list = parts.map((p) => p.trim()).filter(isUuid);
          cast = 'uuid[]';
          break;
        case 'timestamp':
          list = parts.map((p) => p.trim());
          if (!list.every((p) => isTimestamp(p as string))) throw invalid();
          cast = 'timestamp[]';
          break;
        default:
          list = parts;
          cast = 'text[]';
      }
      return f.conditionType === 'in' ? `${expr} = ANY(${param(list, cast)})` : `${expr} <> ALL(${param(list, cast)})`;
    }
    default: {
      const op = OPERATORS[f.conditionType]!;
      switch (type) {
        case 'int':
          if (!INT.test(f.value.trim())) throw invalid();
          return `${expr} ${op} ${param(f.value.trim(), 'bigint')}`;
        case 'timestamp':
          if (!isTimestamp(f.value.trim())) throw invalid();
          return `${expr} ${op} ${param(f.value.trim(), 'timestamp')}`;
        case 'uuid':
          if (f.conditionType === 'eq' || f.conditionType === 'neq') {
            // Equality on the uuid column keeps the index; a non-uuid value can equal no bulk.
            if (!isUuid(f.value.trim())) return f.conditionType === 'eq' ? 'FALSE' : 'TRUE';
            return `${expr} ${op} ${param(f.value.trim(), 'uuid')}`;
          }
          return `${expr}::text ${op} ${param(f.value, 'text')}`;
        default:
          return `${expr} ${op} ${param(f.value, 'text')}`;
      }
    }
  }
}

/**
 * ORDER BY from the sort orders, then creation order (bulk id, operation index), which is the
 * order Magento's collection returns without a sort (its primary key). NULLs sort as MySQL does:
 * first when ascending, last when descending.
 */
export function compileOrderBy(c: SearchCriteria): string {
  const parts = (c.sortOrders ?? []).map((s) => {
    const desc = s.direction === 'DESC';
    return `${FIELDS[s.field]!.expr} ${desc ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`;
  });
  parts.push('b.id ASC', 'o.operation_key ASC');
  return parts.join(', ');
}
