#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run by Node's type stripping (Node >= 22.12 from the `node`
// devDependency), so there is no build step between editing and running.
import { enableCompileCache } from 'node:module';

// V8's code cache on disk: later runs skip compiling what an earlier one compiled (a CLI starts often).
enableCompileCache?.();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
// A failed command exits at once: pools or timers it opened must not keep it alive after its one line.
if (code !== 0) process.exit(code);
process.exitCode = code;
