// The fenced blocks of README.md, run as written (test/docs/doc-file.ts).
import { testDocFile } from './doc-file.ts';

testDocFile('README.md');
