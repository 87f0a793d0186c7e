// The fenced blocks of docs/consumers-and-retries.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/consumers-and-retries.md');
