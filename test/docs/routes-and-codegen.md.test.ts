// The fenced blocks of docs/routes-and-codegen.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/routes-and-codegen.md');
