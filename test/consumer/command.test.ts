/** `magento-async queue:consumers:start` as an operator runs it, against the generated routes and plugins. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../support/db.ts';
import { TEST_LOCATIONS } from '../support/project.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { seedBulk, statusCounts } from './seed.ts';

const CLI = fileURLToPath(new URL('../../bin/magento-async.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('queue:consumers:start', () => {
  it('consumes a topic through its entity queue and stops after --max-messages', async () => {
    const db = await createTestDatabase('cmd');
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    let dir: string | undefined;
    try {
      await ensureQueues(boss, ['products']);
      // No product called this exists, so the real catalog handler may fail it: any final status will do.
      const bulk = await seedBulk(db.pool, boss, db.schema, {
        count: 2,
        operationId: 'PutV1ProductsSku',
        args: (k) => ({ sku: `cmd-${k}`, product: { sku: `cmd-${k}`, name: 'Cmd', price: 1 } }),
      });
      dir = mkdtempSync(join(tmpdir(), 'consumer-cmd-'));
      const configFile = join(dir, 'config.json');
      writeFileSync(
        configFile,
        JSON.stringify({ ...TEST_LOCATIONS, schema: db.schema, bossSchema: db.bossSchema, logLevel: 'warn' }),
      );
      const child = spawn(
        process.execPath,
        [CLI, 'queue:consumers:start', 'async.V1.products.sku.PUT', '--max-messages', '2'],
        {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, stderr);
      assert.match(stdout, /Note: Topic async\.V1\.products\.sku\.PUT shares the queue async\.products/);
      const counts = await statusCounts(db.pool, db.schema, bulk);
      assert.equal(counts[4] ?? 0, 0, JSON.stringify(counts));
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
      await boss.stop({ graceful: false });
      await db.drop();
    }
  });
});
