// The fenced blocks of docs/plugins-and-interceptors.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('docs/plugins-and-interceptors.md');
