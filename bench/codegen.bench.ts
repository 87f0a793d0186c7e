/**
 * Codegen on the Magento 2.4.8 admin spec (477 paths, 347 write operations). The baseline, measured
 * in the same run, is what any generator must do anyway: read, JSON.parse and convert Swagger 2.0
 * to OpenAPI 3. The ratio shows what the route table and emitters add. Goal: codegen < 5 s.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT, runCodegen } from '../codegen/index.ts';

const SPEC = join(PROJECT_ROOT, '../shared/specs/adobedocs-admin-schema-2.4.8.json');
const GOAL_MS = 5000;

if (!existsSync(SPEC)) {
  console.log(`skipped: ${SPEC} not found (the shared real specs are only in the shared workspace)`);
  process.exit(0);
}

const require = createRequire(import.meta.url);
const converter = require('swagger2openapi') as { convertObj(spec: unknown, o: object): Promise<unknown> };

const t0 = performance.now();
await converter.convertObj(JSON.parse(await readFile(SPEC, 'utf8')), { patch: true, warnOnly: true });
const baselineMs = performance.now() - t0;
const rssAfterBaseline = process.resourceUsage().maxRSS / 1024;

// A clean clone has no .cache yet.
await mkdir(join(PROJECT_ROOT, '.cache'), { recursive: true });
const dir = await mkdtemp(join(PROJECT_ROOT, '.cache', 'bench-codegen-'));
try {
  const t1 = performance.now();
  const result = await runCodegen({
    spec: SPEC,
    out: join(dir, 'generated'),
    plugins: join(dir, 'plugins'),
    warn: null,
  });
  const codegenMs = performance.now() - t1;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const rows = [
    ['baseline: parse + swagger2openapi', `${baselineMs.toFixed(0)} ms`, `peak RSS ${rssAfterBaseline.toFixed(0)} MB`],
    [
      `codegen: ${result.routes.length} routes, ${result.files.length} files`,
      `${codegenMs.toFixed(0)} ms`,
      `peak RSS ${peakRssMb.toFixed(0)} MB`,
    ],
    [
      'ratio codegen / baseline',
      `${(codegenMs / baselineMs).toFixed(1)}x`,
      `goal < ${GOAL_MS} ms: ${codegenMs < GOAL_MS ? 'met' : 'MISSED'}`,
    ],
  ];
  for (const row of rows) console.log(`${row[0]!.padEnd(42)} ${row[1]!.padStart(9)}   ${row[2]}`);
  if (codegenMs >= GOAL_MS) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
