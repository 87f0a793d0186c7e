// The fenced blocks of docs/dependencies.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/dependencies.md');
