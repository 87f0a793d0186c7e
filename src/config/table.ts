/**
 * The README's configuration table, rendered from the schema: one row per setting, in the
 * schema's order. `npm run config:table` writes it between the README's markers and
 * test/config/table.test.ts fails when the README holds anything else.
 */
import { ConfigSchema, type SchemaNode } from './schema.ts';

export const TABLE_START = '<!-- config-table: generated from src/config/schema.ts by `npm run config:table` -->';
export const TABLE_END = '<!-- /config-table -->';

type Node = SchemaNode;

function shownDefault(node: Node): string {
  if (node.defaultText !== undefined) return node.defaultText;
  const value = node.default;
  if (value === undefined || value === null) return 'none';
  if (typeof value === 'string') return `\`${value}\``;
  if (typeof value === 'object') return `\`${JSON.stringify(value)}\``;
  return String(value);
}

function rows(node: Node, at: string[] = []): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = [...at, key];
    if (child.type === 'object' && child.properties) {
      out.push(...rows(child, path));
      continue;
    }
    // Lists set from the environment are comma-separated there (src/config.ts).
    const list = child.type === 'array' || child.anyOf?.some((b) => b.type === 'array');
    const env = child.env ? ` (\`${child.env}\`${list ? ', comma-separated' : ''})` : '';
    const name = `\`${path.join('.')}\`${env}`;
    if (!child.description) throw new Error(`src/config/schema.ts: "${path.join('.')}" has no description`);
    out.push(`| ${name} | ${shownDefault(child)} | ${child.description.replace(/\|/g, '\\|')} |`);
  }
  return out;
}

/** The table with its markers, as the README holds it. */
export function renderConfigTable(): string {
  return [
    TABLE_START,
    '| key (env) | default | meaning |',
    '|---|---|---|',
    ...rows(ConfigSchema as unknown as Node),
    TABLE_END,
  ].join('\n');
}

/** `readme` with its table replaced by the rendered one; throws when the markers are missing. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no "${TABLE_START}" … "${TABLE_END}" markers`);
  return readme.slice(0, start) + renderConfigTable() + readme.slice(end + TABLE_END.length);
}
