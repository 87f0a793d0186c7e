#!/usr/bin/env node
// The `magento-async` command. A checkout runs src/bin.ts through Node's type stripping (no build
// step between editing and running); the installed package ships no sources and runs the same
// file compiled, dist/src/bin.js (built by `npm run build`, which `npm pack` runs).
import { existsSync } from 'node:fs';

const source = new URL('../src/bin.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/src/bin.js', import.meta.url).href);
