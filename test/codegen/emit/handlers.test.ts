/**
 * The generated handler types tell the truth on Magento's 2.4.8 admin spec: a plugin written with
 * them (arguments, results, an interceptor on a service method) type-checks with no `any`, and
 * the same plugin with a wrong type does not. Codegen runs into a temp folder under `.cache`
 * (the spec is read where it lies, never copied); one tsc run checks both files.
 * Skipped when the shared specs are absent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT, runCodegen } from '../../../codegen/index.ts';

const SPEC = join(PROJECT_ROOT, '../shared/specs/adobedocs-admin-schema-2.4.8.json');
const skip = existsSync(SPEC) ? false : `real spec not found at ${SPEC} (only present in the shared workspace)`;
const DIR = join(PROJECT_ROOT, '.cache', `typed-handlers-${process.pid}`);

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

describe('handler types generated from the 2.4.8 admin spec', { skip }, () => {
  let output = '';
  before(async () => {
    await rm(DIR, { recursive: true, force: true });
    await mkdir(DIR, { recursive: true });
    await runCodegen({ spec: SPEC, out: join(DIR, 'generated'), plugins: false, warn: null });
    await writeFile(join(DIR, 'good.ts'), GOOD);
    await writeFile(join(DIR, 'bad.ts'), BAD);
    await writeFile(join(DIR, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'] }));
    const tsc = join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
    const run = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', DIR], {
      maxBuffer: 64 << 20,
    }).catch((error: { stdout: string }) => error);
    output = run.stdout;
  });
  after(() => rm(DIR, { recursive: true, force: true }));

  test('a plugin typed with the generated maps compiles, with no `any` anywhere in its types', () => {
    const errors = output.split('\n').filter((l) => /(^|\/)good\.ts\(/.test(l));
    assert.deepEqual(errors, []);
    assert.doesNotMatch(GOOD, /\bany\b(?!where)/);
  });

  test('every wrong type is a compile error on its own line, and nothing else is', () => {
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
