/**
 * The request body as Magento's REST request reads it (source notes §3.4): when there is a body,
 * the Content-Type must be present, well-formed, JSON and UTF-8; the bytes are then
 * `json_decode($body, true)`, so invalid UTF-8, a UTF-8 BOM and 512 levels of nesting are all
 * 400 `Decoding error.` (CONTRACT §3). Our own bounds come on top, each with its own message: the
 * configured nesting limit (below PHP's) and, for bulks, the element count, checked while parsing
 * so an oversized list is never built.
 */
import { E, WebapiError } from '../errors/catalogue.ts';
import {
  PhpJsonDepthError,
  PhpJsonListTooLongError,
  PhpJsonSyntaxError,
  phpJsonDecode,
  type PhpValue,
} from './php-json.ts';

const CONTENT_TYPE = /^([a-z\d/\-+.]+)(?:; *charset=(.+))?$/i;

/** PHP's json_decode default `$depth`: 512 nested levels fail, 511 pass. */
export const PHP_MAX_NESTING = 511;

export function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') throw new WebapiError(E.CONTENT_TYPE_EMPTY);
  const match = CONTENT_TYPE.exec(header.trim());
  if (!match) throw new WebapiError(E.CONTENT_TYPE_INVALID);
  const charset = match[2]?.trim().replace(/^"|"$/g, '');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new WebapiError(E.CHARSET_UNSUPPORTED);
  const mediaType = match[1]!.toLowerCase();
  // XML is Magento's other input format; this server speaks JSON only and says so in Magento's words.
  if (mediaType !== 'application/json') throw new WebapiError(E.CONTENT_TYPE_UNSUPPORTED, [match[1]]);
}

export interface DecodeLimits {
  /** Nesting levels allowed (config `maxJsonDepth`). */
  maxJsonDepth: number;
  /** Elements allowed in a top-level list (bulk: `maxBulkItems`), with the route's name for the message. */
  maxListItems?: { max: number; type: string };
}

/**
 * Whether Magento sees a body at all: `getBodyParams` decodes only when `if ($this->getContent())`,
 * and PHP's `"0"` is as false as `""` (so a body `0` is no body, and needs no Content-Type).
 */
export function hasBody(body: Uint8Array | null): body is Uint8Array {
  return body !== null && body.length > 0 && !(body.length === 1 && body[0] === 0x30);
}

/** Decodes the body (undefined: there is none, see {@link hasBody}). */
export function decodeBody(body: Uint8Array | null, limits: DecodeLimits): PhpValue | undefined {
  return decodeBodyText(body, limits)?.value;
}

// A BOM is kept (ignoreBOM: true), so the JSON decoder sees it and fails as PHP's does.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The decoded body and its text (decoded from UTF-8 once, for whoever parses it again natively). */
export function decodeBodyText(
  body: Uint8Array | null,
  limits: DecodeLimits,
): { value: PhpValue; text: string } | undefined {
  if (!hasBody(body)) return undefined;
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch (error) {
    throw new WebapiError(E.DECODING_ERROR, undefined, { cause: error });
  }
  // PHP's depth counts the value itself: N nested levels need a limit of N + 1.
  const levels = Math.min(limits.maxJsonDepth, PHP_MAX_NESTING);
  try {
    return { value: phpJsonDecode(text, { maxDepth: levels + 1, maxListItems: limits.maxListItems?.max }), text };
  } catch (error) {
    if (error instanceof PhpJsonListTooLongError && limits.maxListItems) {
      const { type, max } = limits.maxListItems;
      throw new WebapiError(E.TOO_MANY_ITEMS, { type, max }, { cause: error });
    }
    if (error instanceof PhpJsonDepthError && levels < PHP_MAX_NESTING && !nestsAtLeast(body, PHP_MAX_NESTING + 1)) {
      throw new WebapiError(E.NESTING_TOO_DEEP, { max: limits.maxJsonDepth }, { cause: error });
    }
    if (error instanceof PhpJsonSyntaxError) throw new WebapiError(E.DECODING_ERROR, undefined, { cause: error });
    throw error;
  }
}

/**
 * Whether brackets outside strings nest `levels` deep anywhere: PHP would refuse such a body as a
 * decoding error whatever our own limit says. Only run once our limit already failed the body.
 */
export function nestsAtLeast(bytes: Uint8Array, levels: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth >= levels) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
