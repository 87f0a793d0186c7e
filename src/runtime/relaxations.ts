/**
 * What this server does that a production server with default settings does not, said once at
 * start in one log entry: developer mode changes several behaviours at once, and each of them is a
 * risk where clients are untrusted (stack traces in answers, integration tokens as bearer tokens).
 * None of them may happen silently. (A crypt key kept in the database is warned about where it is
 * read, src/auth/crypt-key.ts, by consumers too.)
 */
import type { Config } from '../config.ts';
import type { Logger } from '../kernel/logger.ts';

export function relaxations(config: Pick<Config, 'mode' | 'oauth' | 'dashboard'>): string[] {
  const developer = config.mode === 'developer';
  const out: string[] = [];
  if (developer) out.push('error answers carry a "trace" with the stack and internal messages');
  if (integrationAsBearer(config)) {
    out.push(
      `integrations' OAuth access tokens are accepted as bearer tokens, without a signature (oauth.integrationAsBearer${config.oauth.integrationAsBearer === null ? ' follows developer mode' : ''})`,
    );
  }
  if (developer && config.dashboard.enabled) out.push('the bulk dashboard is served');
  return out;
}

export function integrationAsBearer(config: Pick<Config, 'mode' | 'oauth'>): boolean {
  return config.oauth.integrationAsBearer ?? config.mode === 'developer';
}

/** Logs the relaxations in one entry (nothing when there are none). */
export function announceRelaxations(config: Parameters<typeof relaxations>[0], log: Logger): void {
  const effects = relaxations(config);
  if (effects.length === 0) return;
  log.warn(
    { mode: config.mode, effects },
    `${config.mode === 'developer' ? 'developer mode' : 'relaxed settings'}: ${effects.join('; ')}. Never where clients are untrusted.`,
  );
}
