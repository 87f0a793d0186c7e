#!/usr/bin/env node
// The `magento-async` command. A checkout runs src/bin.ts through Node's type stripping (no build
// step between editing and running); the installed package ships no sources and runs the same
// file compiled and bundled with the command line's fast path, dist/cli/bin.js (built by
// `npm run build`, which `npm pack` runs; scripts/bundle-cli.js).
// A namespace import: an old Node has no enableCompileCache, and a named import would not even load.
import * as nodeModule from 'node:module';

// node:fs through require, not an ES import: importing it builds its whole namespace, which loads
// fs/promises and readline (about a fifth of a bare `node`'s CPU time) for one existsSync.
const { existsSync } = nodeModule.createRequire(import.meta.url)('node:fs');
const source = new URL('../src/bin.ts', import.meta.url);
// Before the first TypeScript file: a warm start then reuses its stripped text and compiled code,
// and never loads the type stripper at all.
nodeModule.enableCompileCache?.();
await import(existsSync(source) ? source.href : new URL('../dist/cli/bin.js', import.meta.url).href);
