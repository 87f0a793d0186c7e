/**
 * The integrator's journey on a fresh checkout, through the real CLI: codegen on the real Magento
 * 2.4.8 admin spec → `npm start` (embedded database, no DATABASE_URL) → an async request to a
 * route that only that spec has → the operation reaches a final status, seen by `bulk:status`
 * run as a separate command (it must find npm start's database by itself).
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyCheckout, PROJECT_ROOT } from '../support/checkout.ts';
import { runCli, startCli } from '../support/processes.ts';

const SPEC = join(PROJECT_ROOT, '../shared/specs/adobedocs-admin-schema-2.4.8.json');

test(
  'codegen on the 2.4.8 admin spec, npm start, a request only that spec routes, bulk:status sees it finish',
  {
    skip: existsSync(SPEC) ? false : `${SPEC} not found (the real specs live only in the shared workspace)`,
    timeout: 180_000,
  },
  async (t) => {
    const checkout = copyCheckout();
    t.after(() => checkout.remove());
    const env: Record<string, string | undefined> = { ...process.env, PORT: '0' };
    for (const key of ['DATABASE_URL', 'MAGENTO_ASYNC_VAR_DIR', 'MAGENTO_ASYNC_CONFIG', 'MAGENTO_ASYNC_SPEC'])
      delete env[key];
    const cli = (args: string[]) => runCli('npx', ['magento-async', ...args], { cwd: checkout.dir, env });

    const codegen = await cli(['codegen', '--spec', SPEC]);
    assert.equal(codegen.code, 0, codegen.stderr);
    assert.match(codegen.stdout, /^347 routes from adobedocs-admin-schema-2\.4\.8\.json/);
    const record = JSON.parse(readFileSync(join(checkout.dir, 'src/generated/spec.json'), 'utf8')) as {
      source: string;
    };
    // Outside the checkout, so recorded by its absolute path: the project's spec from now on.
    assert.equal(record.source, SPEC);

    const start = startCli('npm', ['start', '--silent'], { cwd: checkout.dir, env });
    try {
      const [, url] = await start.waitFor(/magento-async is running at (\S+) \((\d+) routes/, 90_000);
      assert.match(start.stdout(), /running at \S+ \(347 routes/);
      assert.doesNotMatch(start.stdout(), /changed since the last codegen/);
      const [, token] = await start.waitFor(/Token \([^)]*\): (\S+)/);

      // DELETE /V1/products/{sku}/media/{entryId} is in the 2.4.8 spec, not in the sample.
      const response = await fetch(`${url}/rest/all/async/V1/products/24-MB01/media/7`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${token}` },
      });
      const accepted = (await response.json()) as { bulk_uuid: string };
      assert.equal(response.status, 202, JSON.stringify(accepted));

      const watched = await cli(['bulk:status', accepted.bulk_uuid, '--watch', '--interval', '200']);
      // Only the generated stub has it: a final failure naming the file to edit, not an operation left open.
      assert.match(watched.stdout, /Finished with Failure \(bulk_status 3\)/, watched.stdout + watched.stderr);
      assert.match(watched.stdout, /failed {7}1/);
      assert.equal(watched.code, 1);

      const detail = await fetch(`${url}/rest/V1/bulk/${accepted.bulk_uuid}/detailed-status`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      const body = (await detail.json()) as { operations_list: { status: number; result_message: string }[] };
      assert.equal(body.operations_list[0]!.status, 3);
      assert.match(
        body.operations_list[0]!.result_message,
        /DeleteV1ProductsSkuMediaEntryId is not implemented yet: edit plugins\/products\/index\.ts/,
      );

      assert.equal(await start.stop('SIGINT'), 0, start.stdout() + start.stderr());
    } finally {
      await start.stop('SIGKILL');
    }
  },
);
