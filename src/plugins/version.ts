/**
 * The part of npm's semver that plugin `compatibility` ranges need: exact versions, partial and
 * x-ranges (`1`, `1.2.x`, `*`), `^`, `~`, `>`, `>=`, `<`, `<=`, `=`, hyphen ranges and `||`.
 * Written here rather than depending on `semver` because the framework needs only `satisfies`, and
 * a range that cannot be parsed must become a load error that names the plugin, not an exception.
 */

interface Version {
  nums: [number, number, number];
  pre: string[];
}

type Op = '<' | '<=' | '>' | '>=' | '=';
interface Comparator {
  op: Op;
  v: Version;
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
// A possibly partial version: missing or x/X/* parts are wildcards.
const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): Version | null {
  const m = VERSION.exec(text.trim());
  if (!m) return null;
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

function comparePre(a: string[], b: string[]): number {
  // A release sorts after any of its prereleases.
  if (!a.length || !b.length) return (b.length ? 1 : 0) - (a.length ? 1 : 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = a.nums[i]! - b.nums[i]!;
    if (d) return d;
  }
  return comparePre(a.pre, b.pre);
}

interface Partial {
  parts: (number | null)[];
  pre: string[];
}

function parsePartial(text: string): Partial | null {
  const m = PARTIAL.exec(text);
  if (!m) return null;
  const parts: (number | null)[] = [];
  for (const p of [m[1], m[2], m[3]]) {
    // Once a part is a wildcard, everything after it is too (`1.x.3` means `1.x`).
    parts.push(p === undefined || /[xX*]/.test(p) || parts.includes(null) ? null : Number(p));
  }
  return { parts, pre: m[4] ? m[4].split('.') : [] };
}

const v = (a: number, b: number, c: number, pre: string[] = []): Version => ({ nums: [a, b, c], pre });

/** The first version above every version the partial matches (`1.2` → `1.3.0`), or null for `*`. */
function upperOf(p: Partial): Version | null {
  const [a, b] = p.parts;
  if (a === null || a === undefined) return null;
  if (b === null || b === undefined) return v(a + 1, 0, 0);
  return v(a, b + 1, 0);
}

function lowerOf(p: Partial): Version {
  const [a, b, c] = p.parts;
  return v(a ?? 0, b ?? 0, c ?? 0, p.pre);
}

function isExact(p: Partial): boolean {
  return p.parts.every((x) => x !== null);
}

function desugar(token: string): Comparator[] | null {
  const m = /^(\^|~>?|>=|<=|>|<|=)?\s*(.*)$/.exec(token);
  if (!m) return null;
  const op = m[1] ?? '';
  const p = parsePartial(m[2]!);
  if (!p) return null;
  const [a, b, c] = p.parts;
  const lo = lowerOf(p);
  const hi = upperOf(p);
  const range = (upper: Version | null): Comparator[] =>
    upper
      ? [
          { op: '>=', v: lo },
          { op: '<', v: upper },
        ]
      : [{ op: '>=', v: v(0, 0, 0) }];
  switch (op) {
    case '':
    case '=':
      return isExact(p) ? [{ op: '=', v: lo }] : range(hi);
    case '^': {
      if (a === null || a === undefined) return range(null);
      if (a > 0 || b === null || b === undefined) return range(v(a + 1, 0, 0));
      if (b > 0 || c === null || c === undefined) return range(v(0, b + 1, 0));
      return range(v(0, 0, c + 1));
    }
    case '~':
    case '~>':
      return range(hi);
    case '>=':
      return [{ op: '>=', v: lo }];
    case '<':
      return [{ op: '<', v: lo }];
    case '>':
      return isExact(p) ? [{ op: '>', v: lo }] : hi ? [{ op: '>=', v: hi }] : [{ op: '<', v: v(0, 0, 0) }];
    case '<=':
      return isExact(p) ? [{ op: '<=', v: lo }] : hi ? [{ op: '<', v: hi }] : [{ op: '>=', v: v(0, 0, 0) }];
    default:
      return null;
  }
}

function test(c: Comparator, x: Version): boolean {
  const d = compareVersions(x, c.v);
  switch (c.op) {
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
    case '=':
      return d === 0;
  }
}

/** Parses a range into alternatives (`||`) of comparator sets; null when it is not a valid range. */
export function parseRange(range: string): Comparator[][] | null {
  const sets: Comparator[][] = [];
  for (const alt of range.split('||')) {
    let text = alt.trim().replace(/(\^|~>?|>=|<=|>|<|=)\s+/g, '$1');
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    const set: Comparator[] = [];
    if (hyphen) {
      const lo = parsePartial(hyphen[1]!);
      const hi = parsePartial(hyphen[2]!);
      if (!lo || !hi) return null;
      set.push({ op: '>=', v: lowerOf(lo) });
      const upper = upperOf(hi);
      if (isExact(hi)) set.push({ op: '<=', v: lowerOf(hi) });
      else if (upper) set.push({ op: '<', v: upper });
      text = '';
    }
    for (const token of text.split(/\s+/).filter(Boolean)) {
      const comparators = desugar(token);
      if (!comparators) return null;
      set.push(...comparators);
    }
    if (!set.length) set.push({ op: '>=', v: v(0, 0, 0) });
    sets.push(set);
  }
  return sets;
}

export function validRange(range: string): boolean {
  return typeof range === 'string' && range.trim() !== '' && parseRange(range) !== null;
}

/**
 * npm's rule for prereleases: `1.3.0-beta.1` satisfies a range only if some comparator of the same
 * set names a prerelease of 1.3.0 itself, so `^1.0.0` does not silently accept unstable builds.
 */
export function satisfies(version: string, range: string): boolean {
  const x = parseVersion(version);
  const sets = parseRange(range);
  if (!x || !sets) return false;
  return sets.some(
    (set) =>
      set.every((c) => test(c, x)) &&
      (!x.pre.length || set.some((c) => c.v.pre.length > 0 && c.v.nums.every((n, i) => n === x.nums[i]))),
  );
}
