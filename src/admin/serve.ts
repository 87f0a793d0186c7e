/**
 * The dashboard's files (src/admin/assets: one HTML page, two scripts, one stylesheet; no build
 * step). They carry no data and need no sign-in: the page asks for an integration token and calls
 * the REST status endpoints with it, so the REST ACL is the dashboard's only permission model.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

const ASSETS = new URL('./assets/', import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/mask.js': { file: 'mask.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const HEADERS = {
  // Everything is same-origin; no inline script, so an injected string in shown data cannot run.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export interface Dashboard {
  /** Answers and returns true when the request is the dashboard's. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createDashboard(path: string): Dashboard {
  // Read once: the files are part of the release, like the code.
  const bodies = new Map(
    Object.entries(FILES).map(([suffix, f]) => [suffix, { ...f, body: readFileSync(new URL(f.file, ASSETS)) }]),
  );
  return {
    handle(req, res) {
      const pathname = (req.url ?? '/').split('?')[0]!;
      if (pathname !== path && !pathname.startsWith(path + '/')) return false;
      if (pathname === path) {
        // The page's files are relative to the folder, so the page lives at `<path>/`.
        const query = (req.url ?? '').slice(pathname.length);
        res.writeHead(308, { Location: path + '/' + query }).end();
        return true;
      }
      const suffix = pathname.slice(path.length).replace(/^\/$/, '');
      const asset = bodies.get(suffix);
      if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: 'Request does not match any route.' }));
        return true;
      }
      res.writeHead(200, { ...HEADERS, 'Content-Type': asset.type, 'Content-Length': asset.body.length });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    },
  };
}
