/**
 * What Node's HTTP parser refuses before a request exists (headers over `maxHeaderSize`, a request
 * not received within `requestTimeout`, malformed HTTP) answered in Magento's error format
 * instead of a dropped connection: 431, 408 or 400. The rest of what the client is still sending is
 * read and discarded for a moment before the socket closes, so the client reads the answer rather
 * than a connection reset (closing with unread bytes makes the kernel send RST).
 */
import type { RequestListener, Server } from 'node:http';
import { http } from './node-http.ts';
import type { Duplex } from 'node:stream';
import { E, WebapiError, errorBody, type ErrorDefinition } from '../errors/catalogue.ts';
import { phpJsonEncode } from '../accept/php-json.ts';
import type { Logger } from '../kernel/logger.ts';

const LINGER_MS = 2000;

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

export function clientErrorDefinition(code: string | undefined): ErrorDefinition {
  if (code === 'HPE_HEADER_OVERFLOW') return E.HEADERS_TOO_LARGE;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return E.REQUEST_TIMEOUT;
  return E.BAD_HTTP_REQUEST;
}

/** Raw HTTP/1.1 response bytes for a parser-level refusal. */
export function clientErrorResponse(definition: ErrorDefinition): string {
  const body = phpJsonEncode(errorBody(new WebapiError(definition)) as never);
  return (
    `HTTP/1.1 ${definition.status} ${REASONS[definition.status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

export interface ConnectionBoundsOptions {
  requestTimeoutSeconds: number;
  log: Logger;
}

/**
 * The HTTP server with its bounds: a whole request within `requestTimeoutSeconds` (headers within
 * 30 s at most), checked every second rather than Node's default 30 s, so a slow client's hold on
 * the bytes in flight ends on time; parser refusals answered as above.
 */
export function createBoundedServer(listener: RequestListener, options: ConnectionBoundsOptions): Server {
  const requestTimeout = options.requestTimeoutSeconds * 1000;
  const server = http.createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 30_000),
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
    },
    listener,
  );
  answerClientErrors(server, options.log);
  return server;
}

export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const definition = clientErrorDefinition(error.code);
    log.info({ code: error.code, status: definition.status }, 'request refused by the HTTP parser');
    socket.end(clientErrorResponse(definition));
    socket.on('error', () => {});
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}
