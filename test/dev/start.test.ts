/**
 * `npm start` as a newcomer runs it: no DATABASE_URL (so the embedded PostgreSQL, initialised in a
 * fresh var folder), PORT=0. Runs the printed PUT, follows the printed status URL until the
 * operation completes (status 1), then Ctrl-C (SIGINT to the process group) must stop everything
 * and exit 0. The bar: first run to a completed seed example within 60 s.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '../support/wait.ts';

const root = resolve(import.meta.dirname, '../..');
const varDir = join(root, `var/test-start-${randomBytes(4).toString('hex')}`);
after(() => rmSync(varDir, { recursive: true, force: true }));

test(
  'npm start on a fresh var folder serves the seed example end to end and stops on Ctrl-C',
  { timeout: 90_000 },
  async () => {
    const began = Date.now();
    const env: Record<string, string | undefined> = { ...process.env, MAGENTO_ASYNC_VAR_DIR: varDir, PORT: '0' };
    delete env.DATABASE_URL;
    delete env.MAGENTO_ASYNC_CONFIG;
    // Its own process group, so SIGINT reaches npm and node together, as a terminal's Ctrl-C does.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | string | null>((done) =>
      child.on('exit', (code, signal) => done(code ?? signal)),
    );
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
    };
    try {
      const until = Date.now() + 60_000;
      const put = await waitFor(
        () =>
          /curl -X PUT (\S+) -H 'Authorization: Bearer (\S+)' -H 'Content-Type: application\/json' -d '(.+)'/.exec(
            stdout,
          ) ??
          (child.exitCode !== null && 'exited'),
        60_000,
        'the curl command',
      ).catch(() => null);
      if (!put || put === 'exited') assert.fail(`no curl command printed:\n${stdout}\n${stderr}`);
      const [, url, token, body] = put;
      const readyMs = Date.now() - began;
      assert.match(stdout, /embedded PostgreSQL/);
      assert.match(stdout, new RegExp(`Token \\(saved in .*dev-token\\): ${token}`));
      assert.equal(statSync(join(varDir, 'dev-token')).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(varDir, 'dev-token'), 'utf8').trim(), token);
      // The dashboard is printed (right after the curl lines) and served.
      await waitFor(() => /Dashboard: \S+/.test(stdout), 5000, 'the dashboard line').catch(() => {});
      const dashboard = /Dashboard: (\S+) \(sign in with the token above\)/.exec(stdout);
      assert.ok(dashboard, stdout);
      const page = await fetch(dashboard[1]!);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>Bulk actions/);

      const accepted = await fetch(url!, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body!,
      });
      assert.equal(accepted.status, 202);
      const { bulk_uuid: uuid } = (await accepted.json()) as { bulk_uuid: string };

      const statusTemplate = /curl (\S+<bulk_uuid>\S*) -H 'Authorization: Bearer (\S+)'/.exec(stdout);
      assert.ok(statusTemplate, stdout);
      const statusUrl = statusTemplate[1]!.replace('<bulk_uuid>', uuid);
      type Status = { operations_list: { status: number; result_message: string }[] };
      await waitFor(
        async () => {
          const response = await fetch(statusUrl, { headers: { Authorization: `Bearer ${statusTemplate[2]}` } });
          assert.equal(response.status, 200);
          const read = (await response.json()) as Status;
          assert.notEqual(read.operations_list[0]?.status, 3, JSON.stringify(read));
          return read.operations_list[0]?.status === 1 && read;
        },
        Math.max(0, until - Date.now()),
        'the operation to complete',
      ).catch((error: Error) => assert.fail(`${error.message}\n${stderr}`));
      const doneMs = Date.now() - began;
      process.stderr.write(
        `npm start (first run): curl printed after ${readyMs} ms, seed example complete after ${doneMs} ms\n`,
      );
      assert.ok(doneMs < 60_000);

      kill('SIGINT');
      assert.equal(await exited, 0, `${stdout}\n${stderr}`);
      assert.match(stdout, /Stopped\./);
      const state = JSON.parse(readFileSync(join(varDir, 'postgres/magento-async.json'), 'utf8')) as {
        ownerPid: number | null;
      };
      assert.equal(state.ownerPid, null, 'the embedded PostgreSQL was stopped');
      assert.equal(existsSync(join(varDir, 'postgres/postmaster.pid')), false);
    } finally {
      if (child.exitCode === null) {
        kill('SIGKILL');
        await exited;
      }
    }
  },
);
