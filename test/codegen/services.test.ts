/** Which Magento service method a route calls (codegen/services.ts), first source that names one. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serviceOf } from '../../codegen/services.ts';
import { PROJECT_ROOT } from '../../codegen/index.ts';
import { loadSpec } from '../../codegen/load-spec.ts';
import { buildRouteTable } from '../../codegen/route-table.ts';

const SAVE = 'Magento\\Catalog\\Api\\ProductRepositoryInterface::save';

describe('serviceOf', () => {
  const cases: { name: string; args: Parameters<typeof serviceOf>; expected: string | null }[] = [
    {
      name: 'x-magento-service as Class::method wins over everything',
      args: ['PUT', '/V1/products/{sku}', { 'x-magento-service': 'Acme\\Api\\FooInterface::bar' }, 'PutV1ProductsSku'],
      expected: 'Acme\\Api\\FooInterface::bar',
    },
    {
      name: 'x-magento-service as {class, method}',
      args: ['POST', '/V1/foo', { 'x-magento-service': { class: 'Acme\\Api\\FooInterface', method: 'bar' } }, null],
      expected: 'Acme\\Api\\FooInterface::bar',
    },
    {
      name: "Magento's route table: POST /V1/products",
      args: ['POST', '/V1/products', {}, 'PostV1Products'],
      expected: SAVE,
    },
    { name: 'and PUT /V1/products/{sku}', args: ['PUT', '/V1/products/{sku}', {}, 'PutV1ProductsSku'], expected: SAVE },
    {
      name: 'a trailing slash or `:param` spelling is the same route',
      args: ['put', '/V1/products/:sku/', {}, null],
      expected: SAVE,
    },
    {
      name: 'the method matters: DELETE is deleteById',
      args: ['DELETE', '/V1/products/{sku}', {}, null],
      expected: 'Magento\\Catalog\\Api\\ProductRepositoryInterface::deleteById',
    },
    {
      name: 'a pre-2.4 operationId names the service as Magento does',
      args: ['PUT', '/V1/acme/{id}', {}, 'catalogProductRepositoryV1SavePut'],
      expected: 'catalogProductRepositoryV1::save',
    },
    { name: 'a 2.4.8 operationId names none', args: ['POST', '/V1/acme', {}, 'PostV1Acme'], expected: null },
    {
      name: 'a GET-style id is no write method',
      args: ['POST', '/V1/acme', {}, 'acmeFooV1GetListGet'],
      expected: null,
    },
  ];
  for (const c of cases) test(c.name, () => assert.equal(serviceOf(...c.args), c.expected));
});

const ADMIN = join(PROJECT_ROOT, '../shared/specs/adobedocs-admin-schema-2.4.8.json');
test(
  'the 2.4.8 admin spec: every transcribed core route is found, both save routes name ProductRepositoryInterface::save',
  { skip: existsSync(ADMIN) ? false : `real spec not found at ${ADMIN}` },
  async () => {
    const { routes } = buildRouteTable((await loadSpec(ADMIN)).doc);
    const named = routes.filter((r) => r.service);
    assert.equal(named.length, 27);
    assert.deepEqual(
      routes.filter((r) => r.service === SAVE).map((r) => `${r.method} ${r.path}`),
      ['POST /V1/products', 'PUT /V1/products/{sku}'],
    );
    // The topic stays the route form: the spec itself names no service (CONTRACT §4).
    assert.equal(routes.find((r) => r.operationId === 'PutV1ProductsSku')!.topic, 'async.V1.products.sku.PUT');
  },
);
