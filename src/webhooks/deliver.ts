/** One webhook POST: connects to the address the destination check approved, with a timeout. */
import { http, https } from '../http/node-http.ts';
import type { LookupFunction } from 'node:net';

export interface DeliveryResult {
  /** The receiver's status, or null when there was no answer. */
  status: number | null;
  error: string | null;
  ms: number;
}

export function post(
  url: URL,
  address: { address: string; family: number },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<DeliveryResult> {
  const started = performance.now();
  const done = (status: number | null, error: string | null): DeliveryResult => ({
    status,
    error,
    ms: Math.round(performance.now() - started),
  });
  // Pinned: a second DNS answer (rebinding) cannot move the request to an address never checked.
  const lookup = ((_host, options, callback) => {
    if ((options as { all?: boolean }).all) callback(null, [address]);
    else callback(null, address.address, address.family);
  }) as LookupFunction;
  return new Promise((resolve) => {
    const request = (url.protocol === 'https:' ? https() : http).request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup,
        timeout: timeoutMs,
      },
      (response) => {
        // The answer's body is not needed; reading it frees the socket.
        response.resume();
        response.on('end', () => resolve(done(response.statusCode ?? null, null)));
        response.on('error', (e) => resolve(done(response.statusCode ?? null, e.message)));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (e) => resolve(done(null, e.message)));
    request.end(body);
  });
}
