/**
 * The dashboard in a real browser (Debian's chromium through playwright-core): sign in with an
 * integration token, watch a running bulk's progress move without a reload, open a failed
 * operation, retry it and see the bulk complete; the queues page lists the consumer; an operation
 * waiting for one it requires shows what it waits for until it runs. A screenshot
 * of each page goes to var/screenshots/ (git-ignored) for a person to look at.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { startTestServer, type TestServer } from '../support/server.ts';
import { CART_BULK_PATH, Gate, cartItems, startCartConsumer, type CartConsumer } from '../support/cart-consumer.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'var/screenshots';
const skip = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM} (apt-get install chromium, as .ci/run does)`;

let server: TestServer;
let cart: CartConsumer;
let browser: import('playwright-core').Browser;
const gate = new Gate();

before(async () => {
  if (skip) return;
  const { chromium } = await import('playwright-core');
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer('dashboard', { dashboard: { enabled: true } });
  cart = await startCartConsumer(server, { delayMs: 0, failing: true, gate });
  // --no-sandbox: CI runs as root, where chromium refuses its sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await cart?.stop();
  await server?.stop();
});

test('sign in, watch a bulk run, open a failed operation, retry it and see the bulk complete', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(20_000);
  assert.equal(server.dashboardUrl, `${server.url}/admin/bulks`);
  await page.goto(server.dashboardUrl!);

  // A wrong token is refused by the REST ACL, the only permission model.
  await page.getByLabel('Integration token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await page.screenshot({ path: `${SHOTS}/1-sign-in.png` });
  await page.getByLabel('Integration token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Bulks' }).waitFor();

  const skus = Array.from({ length: 24 }, (_, i) => (i === 5 || i === 17 ? `fail-${i}` : `sku-${i}`));
  const accepted = await server.request('POST', CART_BULK_PATH, { body: cartItems(skus) });
  assert.equal(accepted.status, 202, accepted.text);
  const uuid: string = accepted.json.bulk_uuid;

  // A marker in the page's memory: a reload would lose it.
  await page.evaluate(() => ((globalThis as unknown as { stayed: boolean }).stayed = true));
  const row = page.locator(`tr[data-bulk="${uuid}"]`);
  const bar = row.getByRole('progressbar');
  const progress = async () => Number(await bar.getAttribute('aria-valuenow'));
  await bar.waitFor();
  // The test sets the pace it observes: operations run only as it releases them, so the bar is
  // seen at each step however fast the machine is.
  const steps = [5, 10, skus.length];
  let released = 0;
  for (const step of steps) {
    assert.equal(await progress(), released, 'nothing runs past the released operations');
    gate.release(step - released);
    released = step;
    await row.locator(`[role="progressbar"][aria-valuenow="${step}"]`).waitFor();
    if (step === 10) await page.screenshot({ path: `${SHOTS}/2-bulk-list-running.png`, fullPage: true });
  }
  gate.open();
  assert.equal(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed), true, 'no reload');
  await page.screenshot({ path: `${SHOTS}/3-bulk-list-finished.png`, fullPage: true });

  await row.getByRole('link').click();
  await page.locator('.badge', { hasText: 'finished with failures' }).first().waitFor();
  const failed = page.locator('tr[data-operation]');
  await failed.nth(1).waitFor();
  assert.equal(await failed.count(), 2);
  const first = failed.filter({ hasText: 'fail-5' });
  await first.getByText('Input').click();
  assert.match(await first.locator('.error').innerText(), /Cannot add fail-5: out of stock/);
  assert.match(await first.locator('pre').innerText(), /"sku": "fail-5"/);
  await page.screenshot({ path: `${SHOTS}/4-bulk-failed.png`, fullPage: true });

  cart.steering.failing = false;
  await page.getByRole('button', { name: 'Retry failed' }).click();
  await page.getByRole('status').filter({ hasText: '2 operations reopened.' }).waitFor();
  await page.locator('h2 .badge', { hasText: /^finished$/ }).waitFor();
  // Drawn with the badge: the failed card is already empty.
  assert.equal(await failed.count(), 0);
  assert.equal(
    await page
      .locator('section', { has: page.getByRole('heading', { name: 'Failed operations' }) })
      .locator('p')
      .innerText(),
    'None.',
  );
  await page.screenshot({ path: `${SHOTS}/5-bulk-retried.png`, fullPage: true });

  const status = await server.request('GET', `/rest/V1/bulk/${uuid}/status?operations=false`);
  assert.equal(status.json.bulk_status, 2);
  assert.equal(status.json.operation_counts.complete, skus.length);

  await page.getByRole('link', { name: 'Queues' }).click();
  await page.getByRole('heading', { name: 'Consumers' }).waitFor();
  await page.locator('td', { hasText: `/ ${process.pid}` }).waitFor();
  await page.screenshot({ path: `${SHOTS}/6-queues.png`, fullPage: true });
  await page.close();
});

test('an operation waiting for one it requires shows what it waits for, until it runs', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(20_000);
  await page.goto(server.dashboardUrl!);
  await page.getByLabel('Integration token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Bulks' }).waitFor();

  // A cart item provides its cart's key (the route's quoteId), as a consumer saves it at start.
  await saveOrderRules(
    server.db.pool,
    server.db.schema,
    orderRules(
      server.artifacts.routes.filter((r) => r.operationId === 'PostV1CartsQuoteIdItems'),
      new Map(),
    ),
  );
  const held = new Gate();
  cart.steering.gate = held;
  // The dependant first: an item of cart 7 requires cart 8, whose item comes after it and is held.
  const accepted = await server.request('POST', CART_BULK_PATH, {
    body: [
      { quoteId: '7', cartItem: { qty: 1, quote_id: '7', sku: 'needs-8' } },
      { quoteId: '8', cartItem: { qty: 1, quote_id: '8', sku: 'parent' } },
    ],
  });
  assert.equal(accepted.status, 202, accepted.text);
  const uuid: string = accepted.json.bulk_uuid;
  await page.goto(`${server.dashboardUrl}#/bulk/${uuid}`);

  const waiting = page.locator('tr[data-waiting="0"]');
  await waiting.waitFor();
  assert.equal(
    await waiting.locator('.wait').innerText(),
    `Waiting for carts@1:8: operation 1 of bulk ${uuid} provides it and is not finished.`,
  );
  assert.equal(await waiting.getByRole('link').getAttribute('href'), `#/bulk/${uuid}`);
  await page.screenshot({ path: `${SHOTS}/7-bulk-waiting.png`, fullPage: true });

  // Every state the page shows from here on, looked at as the DOM changes (not when this test
  // polls, whatever the machine's pace): never the badge "finished" beside a wait of the bulk.
  await page.evaluate(`
    globalThis.shown = [];
    new MutationObserver(() => {
      const badge = document.querySelector('h2 .badge')?.textContent ?? '';
      globalThis.shown.push(badge + ':' + document.querySelectorAll('tr[data-waiting]').length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  `);
  held.open();
  await page.locator('h2 .badge', { hasText: /^finished$/ }).waitFor();
  const shown = await page.evaluate(() => (globalThis as unknown as { shown: string[] }).shown);
  assert.deepEqual(
    shown.filter((s) => /^finished/.test(s) && !s.endsWith(':0')),
    [],
    `states shown: ${[...new Set(shown)].join(', ')}`,
  );
  // The cards are drawn together from one status change: the moment the badge says finished, no
  // wait of the bulk is shown and the waiting card says so (no waiting for a card's own timer).
  const note = page.locator('section', { has: page.getByRole('heading', { name: 'Waiting operations' }) }).locator('p');
  assert.equal(await page.locator('tr[data-waiting]').count(), 0);
  assert.equal(await note.innerText(), 'None.');
  const status = await server.request('GET', `/rest/V1/bulk/${uuid}/detailed-status`);
  assert.deepEqual(
    status.json.operations_list.map((o: { status: number }) => o.status),
    [1, 1],
  );
  await page.close();
});
