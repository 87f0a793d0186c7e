/**
 * PHP json_decode($in, true) → json_encode vectors. Every expected output here was produced by real
 * PHP 8.2.36 (Debian `php-cli`, serialize_precision = -1) and is re-checked against `php` by
 * php-json.test.ts whenever a `php` binary is on PATH.
 */

/** [rule, JSON in, PHP json_encode(json_decode(in, true)) out] */
export const ROUND_TRIPS: ReadonlyArray<readonly [string, string, string]> = [
  // arrays: list or object
  ['empty object re-encodes as a list', '{}', '[]'],
  ['empty list', '[]', '[]'],
  ['nested empty object too', '{"a":{"b":{}}}', '{"a":{"b":[]}}'],
  ['object with keys exactly "0".."n-1" in order becomes a list', '{"0":"a","1":"b"}', '["a","b"]'],
  ['single "0" key becomes a list', '{"0":"a"}', '["a"]'],
  ['keys 0..n-1 out of order stay an object', '{"1":"a","0":"b"}', '{"1":"a","0":"b"}'],
  ['integer key not starting at 0 stays an object', '{"5":1}', '{"5":1}'],
  ['non-canonical integer-like keys are strings', '{"00":"a","-0":"b"," 1":"c"}', '{"00":"a","-0":"b"," 1":"c"}'],
  ['string key before "0" keeps object', '{"b":1,"0":2}', '{"b":1,"0":2}'],
  ['empty key', '{"":1}', '{"":1}'],
  [
    'prototype-looking keys are data',
    '{"__proto__":{"x":1},"constructor":2,"toString":3}',
    '{"__proto__":{"x":1},"constructor":2,"toString":3}',
  ],
  ['nesting is kept', '[1,[2,{"a":[true,false,null]}]]', '[1,[2,{"a":[true,false,null]}]]'],
  // duplicate keys
  ['duplicate key: last value, first position', '{"a":1,"b":2,"a":3}', '{"a":3,"b":2}'],
  ['duplicate "0" key still a list', '{"0":"a","0":"b"}', '["b"]'],
  ['duplicate int key', '{"1":"a","1":"b"}', '{"1":"b"}'],
  // strings
  [
    'non-ASCII as lowercase \\u escapes, astral as surrogate pair',
    '"Café ☕ 😀"',
    '"Caf\\u00e9 \\u2615 \\ud83d\\ude00"',
  ],
  ['slash escaped', '"https://example.com/a/b"', '"https:\\/\\/example.com\\/a\\/b"'],
  ['escaped slash decodes and re-escapes', '"a\\/b"', '"a\\/b"'],
  ['short escapes', '"\\b\\f\\n\\r\\t\\"\\\\"', '"\\b\\f\\n\\r\\t\\"\\\\"'],
  ['other control chars as \\u00xx lowercase', '"\\u0001\\u001f\\u001B\\u0000"', '"\\u0001\\u001f\\u001b\\u0000"'],
  ["< > & ' and DEL are not escaped", '"<a href=\'x\'>&amp;\\u007f</a>"', '"<a href=\'x\'>&amp;\u007f<\\/a>"'],
  ['uppercase hex escapes decode', '"\\u00E9\\uD83D\\uDE00"', '"\\u00e9\\ud83d\\ude00"'],
  ['U+2028/U+2029 escaped like any non-ASCII', '"\u2028\u2029"', '"\\u2028\\u2029"'],
  ['raw astral char', '"😀"', '"\\ud83d\\ude00"'],
  // numbers
  ['int', '29', '29'],
  ['negative zero int is 0', '-0', '0'],
  ['float 10.0 loses .0 (no JSON_PRESERVE_ZERO_FRACTION)', '10.0', '10'],
  ['float -0.0 keeps the sign', '-0.0', '-0'],
  ['float 29.99', '29.99', '29.99'],
  ['float shortest round trip', '0.30000000000000004', '0.30000000000000004'],
  ['exponent without fraction is a float', '1e2', '100'],
  ['big float in exponent form', '1e25', '1.0e+25'],
  ['small float in exponent form', '1E-7', '1.0e-7'],
  ['0.0001 stays positional', '0.0001', '0.0001'],
  ['0.00001 goes exponential', '0.00001', '1.0e-5'],
  ['1e15 positional', '1e15', '1000000000000000'],
  ['1e16 positional', '1e16', '10000000000000000'],
  ['1e17 exponential', '1e17', '1.0e+17'],
  ['exponent with several digits', '1.5e300', '1.5e+300'],
  ['subnormal', '5e-324', '5.0e-324'],
  ['PHP_INT_MAX stays int', '9223372036854775807', '9223372036854775807'],
  ['PHP_INT_MIN stays int', '-9223372036854775808', '-9223372036854775808'],
  ['above PHP_INT_MAX becomes float', '9223372036854775808', '9.223372036854776e+18'],
  ['below PHP_INT_MIN becomes float', '-9223372036854775809', '-9.223372036854776e+18'],
  ['20 digits become float', '12345678901234567890', '1.2345678901234567e+19'],
  ['int beyond 2^53 is exact', '9007199254740993', '9007199254740993'],
  ['float beyond 2^53 is a float', '9007199254740993.0', '9007199254740992'],
  // whitespace and scalars
  ['JSON whitespace around tokens', ' \t\n\r[ 1 , { "a" : 2 } ] \n', '[1,{"a":2}]'],
  ['top-level scalars', 'true', 'true'],
  ['top-level null', 'null', 'null'],
  ['top-level string', '"x"', '"x"'],
];

/** [rule, JSON in, PHP json_last_error_msg()] */
export const INVALID: ReadonlyArray<readonly [string, string, string]> = [
  ['empty string', '', 'Syntax error'],
  ['only whitespace', '  ', 'Syntax error'],
  ['unterminated object', '{', 'Syntax error'],
  ['trailing comma in list', '[1,]', 'Syntax error'],
  ['trailing comma in object', '{"a":1,}', 'Syntax error'],
  ['leading zero', '01', 'Syntax error'],
  ['dot without fraction digits', '1.', 'Syntax error'],
  ['fraction without int part', '.5', 'Syntax error'],
  ['plus sign', '+1', 'Syntax error'],
  ['exponent without digits', '1e', 'Syntax error'],
  ['minus alone', '-', 'Syntax error'],
  ['trailing garbage', '[1] x', 'Syntax error'],
  ['two values', '1 2', 'Syntax error'],
  ['single quotes', "'a'", 'Syntax error'],
  ['unquoted key', '{a:1}', 'Syntax error'],
  ['NaN', 'NaN', 'Syntax error'],
  ['Infinity', 'Infinity', 'Syntax error'],
  ['uppercase literal', 'TRUE', 'Syntax error'],
  ['truncated literal', 'nul', 'Syntax error'],
  [
    'unterminated string (PHP hits the terminating NUL)',
    '"abc',
    'Control character error, possibly incorrectly encoded',
  ],
  ['unknown escape', '"\\x"', 'Syntax error'],
  ['short \\u escape', '"\\u12"', 'Syntax error'],
  ['BOM before the value', '\uFEFF[1]', 'Syntax error'],
  ['non-JSON whitespace (NBSP)', '[1]\u00a0', 'Syntax error'],
  ['raw control character in a string', '"a\u0001"', 'Control character error, possibly incorrectly encoded'],
  ['raw newline in a string', '"a\nb"', 'Control character error, possibly incorrectly encoded'],
  ['lone high surrogate escape', '"\\ud800"', 'Single unpaired UTF-16 surrogate in unicode escape'],
  ['lone low surrogate escape', '"\\udc00"', 'Single unpaired UTF-16 surrogate in unicode escape'],
  [
    'high surrogate followed by a non-surrogate',
    '"\\ud800\\u0041"',
    'Single unpaired UTF-16 surrogate in unicode escape',
  ],
];

/**
 * [rule, JSON in, depth, ok] — PHP's `$depth` counts the scalar level too: N nested arrays/objects
 * need depth > N (`[1]` and even `[]` fail at depth 1), so the default 512 allows 511 levels.
 */
export const DEPTHS: ReadonlyArray<readonly [string, string, number, boolean]> = [
  ['scalar at depth 1', '1', 1, true],
  ['one list at depth 1', '[1]', 1, false],
  ['empty list at depth 1', '[]', 1, false],
  ['one list at depth 2', '[1]', 2, true],
  ['two lists at depth 2', '[[1]]', 2, false],
  ['object in object at depth 3', '{"a":{}}', 3, true],
  ['511 levels at the default', '['.repeat(511) + ']'.repeat(511), 512, true],
  ['512 levels at the default', '['.repeat(512) + ']'.repeat(512), 512, false],
];
