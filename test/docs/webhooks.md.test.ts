// The fenced blocks of docs/webhooks.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/webhooks.md');
