/**
 * `serialized_data` and `data_hash` exactly as Magento builds them (source notes §4, CONTRACT §3):
 * `OperationRepository` json_encodes the operation's input into `meta_information`, wraps it as
 * `{"entity_id":null,"entity_link":"","meta_information":"…","store_id":"…"}` and json_encodes that
 * again; `data_hash` is `hash_hmac('sha256', serialized_data, key)` in lowercase hex.
 */

import { createHmac } from 'node:crypto';
import { encodePhpString, phpJsonEncode } from './php-json.ts';

/**
 * The `serialized_data` string of one operation. `input` is the PHP model (or plain JS) of the
 * operation input; `storeId` is sent as a JSON string (`"1"`, `"0"` for `all`), as Magento's
 * stringified DB value; `null` leaves `store_id` out (Magento's NoSuchEntityException path).
 */
export function serializedData(input: unknown, storeId: string | number | null): string {
  let out = '{"entity_id":null,"entity_link":"","meta_information":' + encodeJsonAsString(phpJsonEncode(input));
  if (storeId !== null) out += ',"store_id":' + encodePhpString(String(storeId));
  return out + '}';
}

/**
 * json_encode of a string that is itself json_encode output: that is pure printable ASCII (PHP
 * escapes control and non-ASCII characters), where JSON.stringify escapes exactly what PHP does
 * (`\` and `"`) except `/`: the native encoder plus one replace beats a character walk ~1.5×.
 */
function encodeJsonAsString(json: string): string {
  return JSON.stringify(json).replaceAll('/', '\\/');
}

/** HMAC-SHA256 of `serialized` (UTF-8 bytes) keyed with `key`, lowercase hex. */
export function dataHash(serialized: string, key: Buffer): string {
  return createHmac('sha256', key).update(serialized, 'utf8').digest('hex');
}
