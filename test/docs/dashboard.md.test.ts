// The fenced blocks of docs/dashboard.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/dashboard.md');
