// Rewrites the README's configuration table from src/config/schema.ts (test/config/table.test.ts
// fails until it has been run after a setting changed).
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../src/config/table.ts';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withConfigTable(before);
if (after !== before) writeFileSync(path, after);
console.log(
  after === before ? 'README.md configuration table: up to date' : 'README.md configuration table: rewritten',
);
