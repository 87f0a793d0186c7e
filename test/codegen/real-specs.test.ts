/**
 * The shared real specs (../shared/specs, not part of the repository): the generator must handle
 * them as they are, and what it generates must typecheck. Skipped when the folder is absent.
 *
 * And the generated handler types tell the truth on Magento's 2.4.8 admin spec: a plugin written
 * with them (arguments, results, an interceptor on a service method) type-checks with no `any`, and
 * the same plugin with a wrong type does not. Both plugin files sit beside the admin spec's output,
 * so the one tsc run over every output checks them too (in a file of their own, these tests
 * generated and type-checked the admin spec's large output a second time: about 9 s CPU).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT, runCodegen, type CodegenResult } from '../../codegen/index.ts';
import { loadSpec, type LoadedSpec } from '../../codegen/load-spec.ts';
import { buildRouteTable } from '../../codegen/route-table.ts';

const SPECS = join(PROJECT_ROOT, '../shared/specs');
const skip = existsSync(SPECS) ? false : `real specs not found at ${SPECS} (only present in the shared workspace)`;
const CACHE = join(PROJECT_ROOT, '.cache');

const SPEC_FILES = {
  admin: 'adobedocs-admin-schema-2.4.8.json',
  customer: 'adobedocs-customer-schema-2.4.8.json',
  guest: 'adobedocs-guest-schema-2.4.8.json',
  box: 'box-openapi.json',
  adyen: 'adyen-ManagementService-v3.json',
} as const;
const OUT = (name: string) => join(CACHE, `test-${name}-${process.pid}`);

// Loading and generating a spec is most of this file's CPU (the admin spec: seconds each), so each
// is done once, by whichever test needs it first, and shared; nothing the tests do changes them.
let adminSpec: Promise<LoadedSpec> | undefined;
const loadAdmin = () => (adminSpec ??= loadSpec(join(SPECS, SPEC_FILES.admin)));

/** Every shared spec generated into its own folder (routes, schemas, handler types, plugin stubs). */
let generated: Promise<Record<string, CodegenResult>> | undefined;
const generateAll = () =>
  (generated ??= (async () => {
    const results: Record<string, CodegenResult> = {};
    for (const [name, file] of Object.entries(SPEC_FILES)) {
      results[name] = await runCodegen({
        spec: name === 'admin' ? await loadAdmin() : join(SPECS, file),
        out: join(OUT(name), 'generated'),
        plugins: join(OUT(name), 'plugins'),
        warn: null,
      });
    }
    return results;
  })());

const HEAD = `import { definePlugin, OperationError } from '../../src/plugin.ts';
import type { OperationArgs, OperationResults, ServiceOperations } from './generated/handlers.gen.ts';
`;

/** Compiles: every type below comes from the generated files; `IsAny` proves none is `any`. */
const GOOD = `${HEAD}
type IsAny<T> = 0 extends 1 & T ? true : false;
type Save = ServiceOperations['Magento\\\\Catalog\\\\Api\\\\ProductRepositoryInterface::save'];
export const notAny: false[] = [
  false as IsAny<OperationArgs['PutV1ProductsSku']>,
  false as IsAny<OperationArgs['PutV1ProductsSku']['product']>,
  false as IsAny<OperationArgs['PutV1ProductsSku']['product']['price']>,
  false as IsAny<OperationResults['PutV1ProductsSku']>,
  false as IsAny<OperationArgs[Save]>,
];
// Both routes of ProductRepositoryInterface::save, and nothing else.
export const saveRoutes: Save[] = ['PostV1Products', 'PutV1ProductsSku'];

export default definePlugin<OperationArgs, OperationResults, ServiceOperations>({
  name: 'Acme_Catalog',
  compatibility: '^1.0.0',
  handlers: {
    PutV1ProductsSku: async (args) => {
      const sku: string = args.sku;
      const price: number | undefined = args.product.price;
      return { sku, name: args.product.name, price, attribute_set_id: 4, type_id: 'simple' };
    },
    // Declared an integer in the spec, and delivered as one (coerced from the URL's string).
    DeleteV1AddressesAddressId: async (args) => {
      const id: number = args.addressId;
      return id > 0;
    },
  },
  interceptors: [
    {
      name: 'price_guard',
      target: 'Magento\\\\Catalog\\\\Api\\\\ProductRepositoryInterface::save',
      sortOrder: 10,
      before: (args) => {
        if ((args.product.price ?? 0) < 0) throw new OperationError('The price cannot be negative.');
        return args;
      },
      after: (result) => ({ ...result, name: result.name ?? result.sku }),
    },
    { name: 'stamp', target: 'PostV1Products', around: async (next, args) => next({ ...args, saveOptions: true }) },
    { name: 'log', target: '*', after: (result) => result },
  ],
});
`;

/** Each line marked \`// wrong:\` must be a type error. */
const BAD = `${HEAD}
export default definePlugin<OperationArgs, OperationResults, ServiceOperations>({
  name: 'Acme_Wrong',
  compatibility: '^1.0.0',
  handlers: {
    PutV1ProductsSku: async (args) => {
      const sku: number = args.sku; // wrong: a string path parameter
      return { sku: String(sku) };
    },
    DeleteV1AddressesAddressId: async (args) => args.addressId.toUpperCase(), // wrong: a number, and the result is boolean
    DeleteV1ProductsSku: async () => 'deleted', // wrong: the result is boolean
  },
  interceptors: [
    {
      name: 'bad_price',
      target: 'Magento\\\\Catalog\\\\Api\\\\ProductRepositoryInterface::save',
      before: (args) => {
        const price: string | undefined = args.product.price; // wrong: price is a number
        return price ? args : undefined;
      },
    },
    { name: 'nowhere', target: 'PostV1NoSuchThing', after: (result: unknown) => result }, // wrong: no such target
  ],
});
`;

/**
 * One tsc run over every output and the two plugin files beside the admin spec's: its diagnostics
 * (`--pretty false`: one `file(line,col): error TS…` line each), started by the first test that needs it.
 */
let typechecked: Promise<string> | undefined;
const typecheck = () =>
  (typechecked ??= (async () => {
    await generateAll();
    await writeFile(join(OUT('admin'), 'good.ts'), GOOD);
    await writeFile(join(OUT('admin'), 'bad.ts'), BAD);
    const tsconfig = join(CACHE, `tsconfig.test-specs-${process.pid}.json`);
    await writeFile(
      tsconfig,
      JSON.stringify({
        extends: '../tsconfig.json',
        include: Object.keys(SPEC_FILES).map((n) => `${basename(OUT(n))}/**/*.ts`),
      }),
    );
    const tsc = join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', tsconfig], {
      maxBuffer: 64 << 20,
    }).catch((error: { stdout: string; code: number }) => error);
    return result.stdout;
  })());

after(async () => {
  for (const name of Object.keys(SPEC_FILES)) await rm(OUT(name), { recursive: true, force: true });
  await rm(join(CACHE, `tsconfig.test-specs-${process.pid}.json`), { force: true });
});

describe('Magento 2.4.8 admin spec', { skip }, () => {
  test('exactly 347 async and 347 bulk routes, none for GET, with Magento bulk path names', async () => {
    const spec = await loadAdmin();
    const { routes } = buildRouteTable(spec.doc);
    assert.equal(routes.length, 347);
    assert.equal(new Set(routes.map((r) => `${r.method} ${r.asyncPath}`)).size, 347);
    assert.equal(new Set(routes.map((r) => `${r.method} ${r.bulkPath}`)).size, 347);
    assert.equal(routes.filter((r) => !['POST', 'PUT', 'DELETE'].includes(r.method)).length, 0);
    const bulk = new Set(routes.map((r) => r.bulkPath));
    for (const path of [
      '/async/bulk/V1/products/bySku/media/byEntryId',
      '/async/bulk/V1/carts/byQuoteId/items',
      '/async/bulk/V1/orders/byParent_id',
    ]) {
      assert.ok(bulk.has(path), path);
    }
    const put = routes.find((r) => r.method === 'PUT' && r.path === '/V1/products/{sku}')!;
    assert.equal(put.operationId, 'PutV1ProductsSku');
    assert.equal(put.topic, 'async.V1.products.sku.PUT');
    assert.deepEqual(put.lastParamTargets, ['product']);
    assert.deepEqual(put.acl, ['Magento_Catalog::products']);
    const mine = routes.findIndex((r) => r.template === '/V1/carts/mine/items');
    const byId = routes.findIndex((r) => r.template === '/V1/carts/:quoteId/items');
    assert.ok(mine >= 0 && byId >= 0 && mine < byId, 'literal /mine before /:quoteId');
  });

  test('path keys with a trailing slash keep it in asyncPath, bulkPath and both schemas, as Magento does', async () => {
    const spec = await loadAdmin();
    const { routes } = buildRouteTable(spec.doc);
    const slashed = routes.filter((r) => r.path.endsWith('/')).map((r) => [r.path, r.asyncPath, r.bulkPath]);
    assert.deepEqual(slashed, [
      ['/V1/carts/', '/async/V1/carts/', '/async/bulk/V1/carts/'],
      ['/V1/company/role/', '/async/V1/company/role/', '/async/bulk/V1/company/role/'],
      ['/V1/company/', '/async/V1/company/', '/async/bulk/V1/company/'],
      ['/V1/invoices/', '/async/V1/invoices/', '/async/bulk/V1/invoices/'],
      ['/V1/shipment/', '/async/V1/shipment/', '/async/bulk/V1/shipment/'],
    ]);
    await generateAll();
    const out = join(OUT('admin'), 'generated');
    const asyncDoc = JSON.parse(await readFile(join(out, 'async-schema.gen.json'), 'utf8'));
    const bulkDoc = JSON.parse(await readFile(join(out, 'bulk-schema.gen.json'), 'utf8'));
    assert.equal(asyncDoc.swagger, '2.0');
    assert.ok(asyncDoc.paths['/async/V1/carts/'].post);
    assert.ok(bulkDoc.paths['/async/bulk/V1/invoices/'].post);
  });
});

describe('Box and Adyen (OpenAPI 3.0 / 3.1)', { skip }, () => {
  test('Box: `#` path keys collapse onto their route with a diagnostic; odd ids become identifiers', async () => {
    const spec = await loadSpec(join(SPECS, SPEC_FILES.box));
    const { routes, diagnostics } = buildRouteTable(spec.doc);
    assert.ok(routes.every((r) => !r.template.includes('#') && /^[A-Za-z_$][\w$]*$/.test(r.operationId)));
    assert.ok(routes.some((r) => r.method === 'PATCH'));
    const dup = diagnostics.find((d) => d.code === 'duplicate-route' && d.path === '/files/{file_id}#add_shared_link');
    assert.ok(dup && dup.method === 'PUT' && dup.message.includes('PUT /files/{file_id}'));
    assert.equal(
      routes.find((r) => r.method === 'PUT' && r.template === '/files/:file_id')!.bulkPath,
      '/async/bulk/files/byFile_id',
    );
  });

  test('Adyen: PATCH routes and `get-companies-companyId`-style ids', async () => {
    const spec = await loadSpec(join(SPECS, SPEC_FILES.adyen));
    const { routes } = buildRouteTable(spec.doc);
    assert.equal(routes.filter((r) => r.method === 'PATCH').length, 26);
    const patch = routes.find((r) => r.specOperationId === 'patch-companies-companyId-androidApps-id')!;
    assert.equal(patch.operationId, 'patch_companies_companyId_androidApps_id');
    assert.equal(patch.bulkPath, '/async/bulk/companies/byCompanyId/androidApps/byId');
  });
});

describe('generated code of all five shared specs', { skip }, () => {
  test('typechecks (one tsc run over every output) and re-running changes nothing', { timeout: 240_000 }, async () => {
    const results = await generateAll();
    assert.equal(results.admin!.routes.length, 347);

    const again = await runCodegen({
      spec: join(SPECS, SPEC_FILES.guest),
      out: join(OUT('guest'), 'generated'),
      plugins: join(OUT('guest'), 'plugins'),
      warn: null,
    });
    assert.deepEqual([...new Set(again.files.map((f) => f.status))].sort(), ['kept', 'unchanged']);

    // Every diagnostic is one of bad.ts's deliberate errors (checked line by line below).
    const output = await typecheck();
    const elsewhere = output.split('\n').filter((l) => /error TS/.test(l) && !/(^|\/)bad\.ts\(/.test(l));
    assert.deepEqual(elsewhere.slice(0, 30), []);
  });
});

describe('handler types generated from the 2.4.8 admin spec', { skip }, () => {
  test('a plugin typed with the generated maps compiles, with no `any` anywhere in its types', async () => {
    const output = await typecheck();
    const errors = output.split('\n').filter((l) => /(^|\/)good\.ts\(/.test(l));
    assert.deepEqual(errors, []);
    assert.doesNotMatch(GOOD, /\bany\b(?!where)/);
  });

  test('every wrong type is a compile error on its own line, and nothing else is', async () => {
    const output = await typecheck();
    const lines = BAD.split('\n');
    const expected = lines.flatMap((l, i) => (l.includes('// wrong:') ? [i + 1] : []));
    const reported = [
      ...new Set(
        output
          .split('\n')
          .map((l) => /(?:^|\/)bad\.ts\((\d+),/.exec(l))
          .filter((m) => m !== null)
          .map((m) => Number(m[1])),
      ),
    ].sort((a, b) => a - b);
    assert.equal(expected.length, 5);
    assert.deepEqual(reported, expected, output);
    // Nothing but the wrong lines: the rest of the file is the good plugin's shape.
    assert.equal(output.split('\n').filter((l) => /error TS/.test(l) && !/bad\.ts\(/.test(l)).length, 0, output);
  });
});
