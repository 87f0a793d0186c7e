/**
 * Reads a request body within its bounds: the size limit (413) is enforced from Content-Length
 * and again while streaming, and every byte held is reserved with the admission ticket (503 when
 * the bytes in flight are over), so an oversized body is never held in memory. What the bytes
 * mean (Content-Type, UTF-8, JSON) is the accept path's business (src/accept/decode.ts).
 */
import type { IncomingMessage } from 'node:http';
import { E, WebapiError } from '../errors/catalogue.ts';
import { checkContentType } from '../accept/decode.ts';
import type { Ticket } from './admission.ts';

export { checkContentType };

/**
 * The body bytes, or null when there is none. On an error the rest of the body is read and
 * discarded (not the socket destroyed), so the client gets the answer instead of a reset.
 */
export function readBodyBytes(req: IncomingMessage, maxBytes: number, ticket?: Ticket): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const chunks: Buffer[] = [];
    let size = 0;
    let reserved = 0;
    let failed = false;
    const fail = (error: unknown) => {
      failed = true;
      chunks.length = 0;
      req.resume();
      reject(error);
    };
    try {
      if (Number.isFinite(declared) && declared > maxBytes) throw new WebapiError(E.BODY_TOO_LARGE, { max: maxBytes });
      if (ticket && Number.isFinite(declared) && declared > 0) ticket.reserve((reserved = declared));
    } catch (error) {
      fail(error);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      try {
        if (size > maxBytes) throw new WebapiError(E.BODY_TOO_LARGE, { max: maxBytes });
        if (ticket && size > reserved) {
          ticket.reserve(size - reserved);
          reserved = size;
        }
      } catch (error) {
        fail(error);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      if (size === 0) resolve(null);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (!failed) fail(error);
    });
  });
}

/** The body as text for JSON endpoints beyond the accept path (the status API's retry and cancel). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  const bytes = await readBodyBytes(req, maxBytes);
  if (bytes === null) return null;
  checkContentType(req.headers['content-type']);
  // Magento's JSON decoder rejects invalid UTF-8 as a decoding error; TextDecoder with `fatal` does too.
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new WebapiError(E.DECODING_ERROR);
  }
}
