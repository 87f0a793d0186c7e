/**
 * The string formats of the configuration schema (`format: 'http-url'`), how each is checked and
 * how an error message names it. The validator calls the checks (src/config/validator.ts, and the
 * package's precompiled copy of it imports them from here), error messages read `expected`.
 */
export const FORMATS: Record<string, { valid: (v: string) => boolean; expected: string }> = {
  'http-url': {
    valid: (v) => {
      try {
        const { protocol } = new URL(v);
        return protocol === 'http:' || protocol === 'https:';
      } catch {
        return false;
      }
    },
    expected: 'an http(s) URL',
  },
  'url-path': {
    valid: (v) => /^(\/[A-Za-z0-9._~-]+)+$/.test(v) && !v.startsWith('/rest/') && v !== '/metrics',
    expected: 'a URL path',
  },
};

/** The checks alone, by format name: what ajv takes as `formats`. */
export const FORMAT_CHECKS: Record<string, (v: string) => boolean> = Object.fromEntries(
  Object.entries(FORMATS).map(([name, f]) => [name, f.valid]),
);
