// The fenced blocks of docs/testing-plugins.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/testing-plugins.md');
