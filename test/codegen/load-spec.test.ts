import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { loadSpec, SpecLoadError } from '../../codegen/load-spec.ts';

const swagger = `swagger: '2.0'
info: { title: t, version: '1', description: { $ref: 'intro/redocly-intro.md' } }
basePath: /rest/default
paths:
  /V1/things/{id}:
    put:
      operationId: PutV1ThingsId
      parameters:
        - { name: id, in: path, type: string, required: true }
        - { name: PutV1ThingsIdBody, in: body, schema: { type: object, properties: { thing: { type: object } } } }
      responses: { '200': { description: ok } }
`;

describe('loading a spec', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'load-spec-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  test('YAML Swagger 2.0 is converted to OpenAPI 3 and hashed as raw bytes', async () => {
    const path = await write('spec.txt', swagger);
    const spec = await loadSpec(path);
    assert.equal(spec.file, 'spec.txt');
    assert.equal(spec.sha256, createHash('sha256').update(swagger).digest('hex'));
    assert.equal(spec.sourceVersion, '2.0');
    assert.equal(spec.basePath, '/rest/default');
    assert.match(String(spec.doc.openapi), /^3\.0/);
    const put = (spec.doc.paths as any)['/V1/things/{id}'].put;
    assert.deepEqual(put.parameters[0].schema, { type: 'string' });
    assert.ok(put.requestBody);
  });

  test('an external $ref to a missing file becomes a placeholder and a diagnostic', async () => {
    const spec = await loadSpec(await write('spec2.yaml', swagger));
    assert.equal((spec.doc.info as any).description, '(see intro/redocly-intro.md)');
    assert.deepEqual(
      spec.diagnostics.map((d) => d.code),
      ['external-ref'],
    );
  });

  test('JSON OpenAPI 3.1 passes through unchanged', async () => {
    const doc = { openapi: '3.1.0', info: { title: 'x', version: '1' }, paths: {} };
    const spec = await loadSpec(await write('spec.json', JSON.stringify(doc)));
    assert.deepEqual(spec.doc, doc);
    assert.equal(spec.basePath, null);
  });

  const failures: Array<[name: string, text: string | null, message: RegExp]> = [
    ['missing file', null, /cannot read spec file .*ENOENT/],
    ['broken JSON', '{"openapi": ', /invalid JSON/],
    ['not YAML either', 'a: b: c: [', /neither JSON nor valid YAML/],
    ['not an OpenAPI document', 'hello: world\n', /not an OpenAPI document/],
    ['no paths', '{"openapi":"3.0.0","info":{}}', /no "paths" object/],
    ['unsupported version', '{"openapi":"4.0.0","paths":{}}', /unsupported openapi version 4.0.0/],
  ];
  for (const [name, text, message] of failures) {
    test(`fails clearly: ${name}`, async () => {
      const path = text === null ? join(dir, 'absent.json') : await write(`${name.replace(/\W/g, '_')}.txt`, text);
      await assert.rejects(
        loadSpec(path),
        (error: Error) => error instanceof SpecLoadError && message.test(error.message),
      );
    });
  }

  test('an http(s) URL is fetched with the --token as a bearer token', async () => {
    let authorization: string | undefined;
    const server = createServer((req, res) => {
      authorization = req.headers.authorization;
      res.end(swagger);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const spec = await loadSpec(`http://127.0.0.1:${port}/rest/all/schema?services=all`, { token: 'T0KEN' });
      assert.equal(authorization, 'Bearer T0KEN');
      assert.equal(spec.file, `127.0.0.1:${port}-schema`);
      assert.ok((spec.doc.paths as object)['/V1/things/{id}' as keyof object]);
      await assert.rejects(loadSpec(`http://127.0.0.1:${port}/x`.replace(String(port), '1')), /cannot fetch/);
    } finally {
      server.close();
    }
  });
});
