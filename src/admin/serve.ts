/**
 * The dashboard's files (src/admin/assets: one HTML page, two scripts, one stylesheet; no build
 * step). They carry no data and need no sign-in: the page asks for an integration token and calls
 * the REST status endpoints with it, so the REST ACL is the dashboard's only permission model.
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { E, WebapiError } from '../errors/catalogue.ts';

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
  /** Where the dashboard lives (`dashboard.path`). */
  path: string;
  /** Answers a request for `path` or below it (the app's router sends them here). */
  answer(ctx: Context): void;
}

export function createDashboard(path: string): Dashboard {
  // Read once: the files are part of the release, like the code.
  const bodies = new Map(
    Object.entries(FILES).map(([suffix, f]) => [suffix, { ...f, body: readFileSync(new URL(f.file, ASSETS)) }]),
  );
  return {
    path,
    answer(ctx) {
      if (ctx.path === path) {
        // The page's files are relative to the folder, so the page lives at `<path>/`.
        ctx.status = 308;
        ctx.set('Location', path + '/' + ctx.search);
        ctx.body = '';
        return;
      }
      const suffix = ctx.path.slice(path.length).replace(/^\/$/, '');
      const asset = bodies.get(suffix);
      if (!asset || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) throw new WebapiError(E.ROUTE_NOT_FOUND);
      ctx.set(HEADERS);
      ctx.type = asset.type;
      ctx.body = asset.body;
    },
  };
}
