/**
 * HTTP to one upstream over a bounded pool of keep-alive connections (node:http's Agent): a call
 * reuses an idle connection instead of paying a TCP (and TLS) handshake, and the pool never opens
 * more than `maxSockets` connections, however many batches forward at once.
 */
import type { Agent, AgentOptions, IncomingHttpHeaders } from 'node:http';
import { http, https } from '../../src/http/node-http.ts';

export interface TransportOptions {
  /** The upstream's base URL; its scheme picks http or https. */
  baseUrl: string;
  /** Most connections open at once (in use or idle). */
  maxSockets: number;
  /**
   * An idle connection is closed after this long, ms. Below Apache's default `KeepAliveTimeout` of
   * 5 s (nginx keeps 75 s), so we close it before the upstream does: a request written onto a
   * connection the upstream is closing fails for no reason of its own. Default 4000.
   */
  idleMs?: number;
  /** Certificates (PEM) trusted instead of Node's bundled ones: a store behind a private CA. */
  ca?: string;
}

export interface SendOptions {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Attempts of one call when reused connections turn out closed by the upstream (then a fresh one). */
const STALE_ATTEMPTS = 3;

export class Transport {
  readonly agent: Agent;
  readonly #request: typeof http.request;

  constructor(options: TransportOptions) {
    const secure = new URL(options.baseUrl).protocol === 'https:';
    const agentOptions: AgentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: options.maxSockets,
      // Sets each socket's idle timeout; the agent closes an idle pooled socket when it fires.
      timeout: options.idleMs ?? 4000,
      // Reuse the most recently used connection: the least likely to have been closed upstream.
      scheduling: 'lifo',
    };
    const tls = secure ? https() : null;
    this.agent = tls
      ? new tls.Agent({ ...agentOptions, ...(options.ca ? { ca: options.ca } : {}) })
      : new http.Agent(agentOptions);
    this.#request = tls ? tls.request : http.request;
  }

  async send(url: string, options: SendOptions): Promise<UpstreamResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(url, options);
      } catch (error) {
        // The upstream closed an idle pooled connection as we wrote to it: the request never
        // reached it (Node's documented remedy), so sending it again on another one is safe.
        const stale = (error as { staleSocket?: boolean }).staleSocket === true;
        if (!stale || attempt >= STALE_ATTEMPTS || options.signal.aborted) throw error;
      }
    }
  }

  /** Closes every pooled connection (in-flight calls fail). */
  close(): void {
    this.agent.destroy();
  }

  #once(url: string, options: SendOptions): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
      let responded = false;
      const req = this.#request(url, { method: options.method, headers, agent: this.agent, signal: options.signal });
      req.once('error', (error: NodeJS.ErrnoException) => {
        if (!responded && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          Object.assign(error, { staleSocket: true });
        }
        reject(error);
      });
      req.once('response', (res) => {
        responded = true;
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.once('error', reject);
        res.once('aborted', () =>
          reject(Object.assign(new Error('The upstream closed the response early.'), { code: 'ECONNRESET' })),
        );
      });
      req.end(options.body);
    });
  }
}
