/**
 * Whether a plugin's `compatibility` range admits this framework version. Ranges are npm's
 * (`semver`), as a plugin author writes them in package.json; an empty one, which npm reads as
 * "any", is refused so a plugin says what it was written against.
 */
import { satisfies, validRange } from 'semver';

/** Why the plugin cannot load with this framework version, or null when it can. */
export function compatibilityError(range: unknown, version: string): string | null {
  if (typeof range !== 'string' || range.trim() === '' || validRange(range) === null) {
    return `compatibility ${JSON.stringify(range)} is not a semver range (e.g. "^1.0.0").`;
  }
  if (satisfies(version, range)) return null;
  // npm's rule, which surprises: a prerelease satisfies only a range naming a prerelease of its own version.
  const why = satisfies(version, range, { includePrerelease: true })
    ? ` (a prerelease satisfies only a range that names a prerelease of ${version.replace(/-.*$/, '')}, e.g. ">=${version}")`
    : '';
  return `requires framework ${range}, but this is magento-async ${version}${why}.`;
}
