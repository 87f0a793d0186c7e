// The fenced blocks of docs/authentication.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/authentication.md');
