#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run by Node's type stripping (Node >= 22.12 from the `node`
// devDependency), so there is no build step between editing and running.
import { main } from '../src/cli.ts';

process.exitCode = await main(process.argv.slice(2));
