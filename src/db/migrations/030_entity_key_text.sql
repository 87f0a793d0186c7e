-- One rule for the text of an entity key's values (src/operations/key-text.ts): the order triggers
-- read a key's values from the stored arguments as JS reads the keys an operation requires, so
-- `1`, `1.0`, `1e0` and `"1"` are one key, `-0` is `0`, a big integer is the double JS reads
-- (`1.2345678901234567e+19` is `12345678901234567000`). Before, the one-path triggers kept the
-- stored token as written (`-0`, `1.0e+21`) and `order_key_of` jsonb's numeric text, and neither was
-- what the consumer computes for a `requires`.

-- A double as JavaScript's String(n) writes it (ECMAScript Number::toString): PostgreSQL's float8
-- output (extra_float_digits 1) gives the shortest digits that read back as the same double, as
-- JS does; only where the decimal point goes differs.
CREATE FUNCTION {{schema}}.js_number_text(f double precision) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET extra_float_digits = 1 AS $$
DECLARE
  sign text := CASE WHEN f < 0 THEN '-' ELSE '' END;
  m text[];
  d text;
  n int;
  k int;
  e int;
BEGIN
  IF f = 0 THEN RETURN '0'; END IF;
  IF f = 'NaN'::float8 OR f IN ('Infinity'::float8, '-Infinity'::float8) THEN RETURN NULL; END IF;
  m := regexp_match(abs(f)::text, '^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$');
  -- value = 0.d × 10^n
  d := m[1] || coalesce(m[2], '');
  n := length(m[1]) + coalesce(m[3]::int, 0);
  n := n - (length(d) - length(ltrim(d, '0')));
  d := rtrim(ltrim(d, '0'), '0');
  k := length(d);
  IF k <= n AND n <= 21 THEN RETURN sign || d || repeat('0', n - k); END IF;
  IF 0 < n AND n <= 21 THEN RETURN sign || left(d, n) || '.' || substr(d, n + 1); END IF;
  IF -6 < n AND n <= 0 THEN RETURN sign || '0.' || repeat('0', -n) || d; END IF;
  e := n - 1;
  RETURN sign || left(d, 1) || CASE WHEN k > 1 THEN '.' || substr(d, 2) ELSE '' END
    || 'e' || CASE WHEN e >= 0 THEN '+' ELSE '-' END || abs(e)::text;
END $$;

-- The text of one key value (a JSON value at a rule's path): strings themselves, numbers as above,
-- booleans; NULL (no key) for null, objects and arrays. A json value's text is its token as
-- stored, so its first character tells its type without parsing it again; plpgsql, because a SQL
-- function that names its argument more than once is not inlined and calls cost more.
CREATE FUNCTION {{schema}}.key_text(v json) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  r text := v::text;
BEGIN
  CASE left(r, 1)
    WHEN '"' THEN RETURN v #>> '{}';
    WHEN 't', 'f' THEN RETURN r;
    WHEN 'n', '{', '[' THEN RETURN NULL;
    ELSE RETURN {{schema}}.js_number_text(r::double precision);
  END CASE;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.order_key_of(rule {{schema}}.order_key_rule, serialized text, store_id integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN bool_and(v IS NOT NULL) THEN
      rule.namespace || '@' || store_id || ':' || string_agg(v, E'\x1f' ORDER BY n) END
  FROM (SELECT ((serialized::json ->> 'meta_information')::json) AS meta) m,
    LATERAL unnest(rule.paths) WITH ORDINALITY AS p(path, n),
    LATERAL (SELECT {{schema}}.key_text(m.meta #> string_to_array(p.path, '.')) AS v) x
$$;

CREATE OR REPLACE FUNCTION {{schema}}.order_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM {{schema}}.order_key_rule) THEN
    INSERT INTO {{schema}}.operation_order (order_key, bulk_uuid, operation_key)
    SELECT k, bulk_uuid, operation_key FROM (
      SELECT CASE WHEN cardinality(r.paths) = 1
          -- One path (nearly every rule), inline: five times cheaper than the function call.
          THEN r.namespace || '@' || b.store_id || ':' || {{schema}}.key_text(
            ((n.serialized_data::json ->> 'meta_information')::json) #> string_to_array(r.paths[1], '.'))
          ELSE {{schema}}.order_key_of(r, n.serialized_data, b.store_id) END AS k,
        n.bulk_uuid, n.operation_key
      FROM new_rows n
      JOIN {{schema}}.order_key_rule r ON r.operation_id = n.operation_id
      JOIN {{schema}}.bulk b ON b.uuid = n.bulk_uuid
      WHERE n.status = 4
      ORDER BY n.bulk_uuid, n.operation_key
    ) keyed WHERE k IS NOT NULL
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.order_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM {{schema}}.order_key_rule) THEN
    -- Nothing of it can run any more: not open, and no automatic retry coming.
    DELETE FROM {{schema}}.operation_order p USING new_rows n
    WHERE p.bulk_uuid = n.bulk_uuid AND p.operation_key = n.operation_key
      AND n.status <> 4 AND NOT n.will_retry;
    -- Reopened by the retry API: it goes behind what was accepted meanwhile.
    INSERT INTO {{schema}}.operation_order (order_key, bulk_uuid, operation_key)
    SELECT k, bulk_uuid, operation_key FROM (
      SELECT CASE WHEN cardinality(r.paths) = 1
          -- One path (nearly every rule), inline: five times cheaper than the function call.
          THEN r.namespace || '@' || b.store_id || ':' || {{schema}}.key_text(
            ((n.serialized_data::json ->> 'meta_information')::json) #> string_to_array(r.paths[1], '.'))
          ELSE {{schema}}.order_key_of(r, n.serialized_data, b.store_id) END AS k,
        n.bulk_uuid, n.operation_key
      FROM new_rows n JOIN old_rows o USING (bulk_uuid, operation_key)
      JOIN {{schema}}.order_key_rule r ON r.operation_id = n.operation_id
      JOIN {{schema}}.bulk b ON b.uuid = n.bulk_uuid
      WHERE n.status = 4 AND o.status <> 4
      ORDER BY n.bulk_uuid, n.operation_key
    ) keyed WHERE k IS NOT NULL
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
