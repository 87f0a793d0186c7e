// The fenced blocks of docs/operation-lifecycle.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/operation-lifecycle.md');
