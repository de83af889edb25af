// Copies the non-TypeScript assets the compiled service reads at run time (vocabulary data files).
import { cpSync } from 'node:fs';
cpSync('src/vocabulary/data', 'dist/src/vocabulary/data', { recursive: true });
