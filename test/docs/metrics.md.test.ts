// The fenced blocks of docs/metrics.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/metrics.md');
