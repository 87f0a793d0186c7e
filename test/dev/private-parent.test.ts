/**
 * `npm start` as root in a checkout whose parent folder is private (mode 0700, like a clone under
 * /root in a container): the embedded PostgreSQL runs as user `postgres`, who cannot enter that
 * folder, so its binaries and data must be placed where it can (src/dev/embedded.ts). Run for
 * real: a copy of this checkout under a fresh 0700 folder, the printed curl, Ctrl-C.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyCheckout } from '../support/checkout.ts';
import { startCli } from '../support/processes.ts';

const isRoot = process.getuid?.() === 0;

test(
  'as root, npm start works in a checkout under a private (0700) folder',
  { skip: isRoot ? false : 'needs root (the case is root in a container)', timeout: 120_000 },
  async (t) => {
    const privateParent = mkdtempSync(join(tmpdir(), 'private-'));
    chmodSync(privateParent, 0o700);
    const runtime = mkdtempSync(join(tmpdir(), 'runtime-'));
    t.after(() => {
      rmSync(privateParent, { recursive: true, force: true });
      rmSync(runtime, { recursive: true, force: true });
    });
    const checkout = copyCheckout(privateParent);
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: '0',
      // Where the binaries and data go instead of /var/lib/magento-async: owned by this test.
      MAGENTO_ASYNC_RUNTIME_DIR: runtime,
    };
    delete env.DATABASE_URL;
    delete env.MAGENTO_ASYNC_VAR_DIR;
    const start = startCli('npm', ['start', '--silent'], { cwd: checkout.dir, env });
    try {
      const [, url, token, body] = await start.waitFor(
        /curl -X PUT (\S+) -H 'Authorization: Bearer (\S+)' -H 'Content-Type: application\/json' -d '(.+)'/,
        90_000,
      );
      const response = await fetch(url!, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body!,
      });
      assert.equal(response.status, 202);
      assert.ok(lstatSync(join(checkout.dir, 'var/postgres')).isSymbolicLink(), 'the data directory moved out');
      assert.equal(await start.stop('SIGINT'), 0, start.stdout() + start.stderr());
    } finally {
      await start.stop('SIGKILL');
    }
  },
);
