/**
 * Reads a request body the way Magento's REST request does (source notes §3.4): nothing to check
 * when the body is empty; otherwise the Content-Type must be present, well-formed, JSON and UTF-8.
 * The size limit is enforced while streaming, so an oversized body is never held in memory.
 */
import type { IncomingMessage } from 'node:http';
import { E, WebapiError } from '../errors/catalogue.ts';

const CONTENT_TYPE = /^([a-z\d/\-+.]+)(?:; *charset=(.+))?$/i;

/** Returns the body as text, or null when there is none. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new WebapiError(E.BODY_TOO_LARGE, { max: maxBytes });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new WebapiError(E.BODY_TOO_LARGE, { max: maxBytes });
    }
    chunks.push(chunk);
  }
  if (size === 0) return null;
  checkContentType(req.headers['content-type']);
  const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  // Magento's JSON decoder rejects invalid UTF-8 as a decoding error; TextDecoder with `fatal` does too.
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buffer);
  } catch {
    throw new WebapiError(E.DECODING_ERROR);
  }
}

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
