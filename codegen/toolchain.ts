/**
 * Codegen's heavy tools (openapi-typescript with the TypeScript compiler, swagger2openapi) are
 * optional peer dependencies: a store project has them as devDependencies, where it runs codegen,
 * and a production install (`npm ci --omit=dev`) leaves them out, since serve and the consumers
 * never generate. They are imported here, when codegen runs, and their absence is one clear line.
 */
import { createRequire } from 'node:module';

export const TOOLCHAIN_INSTALL = 'npm install --save-dev typescript@~5.9 openapi-typescript@7 swagger2openapi@7';

function missing(name: string, error: unknown): Error {
  const code = (error as { code?: string }).code;
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(name))
    return new Error(`codegen needs ${name}, which is not installed here: run \`${TOOLCHAIN_INSTALL}\``);
  return error as Error;
}

export async function openapiTypescript(): Promise<typeof import('openapi-typescript')> {
  try {
    return await import('openapi-typescript');
  } catch (error) {
    throw missing('openapi-typescript', error);
  }
}

export interface Swagger2OpenApi {
  convertObj(spec: unknown, options: Record<string, unknown>): Promise<{ openapi: Record<string, unknown> }>;
}

export function swagger2openapi(): Swagger2OpenApi {
  try {
    return createRequire(import.meta.url)('swagger2openapi') as Swagger2OpenApi;
  } catch (error) {
    throw missing('swagger2openapi', error);
  }
}
