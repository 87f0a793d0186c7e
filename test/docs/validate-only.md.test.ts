// The fenced blocks of docs/validate-only.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/validate-only.md');
