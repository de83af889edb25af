// Prints one closing line for the whole test run, summed over the jest tiers' JSON results:
// "tests: N passed, N failed, N skipped" — the line CI reads.
import { existsSync, readFileSync } from 'node:fs';

const tiers = ['unit', 'contract', 'e2e'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const tier of tiers) {
  const file = `.test-results/${tier}.json`;
  if (!existsSync(file)) {
    console.error(`test summary: ${file} is missing (did the ${tier} tier run?)`);
    process.exit(1);
  }
  const result = JSON.parse(readFileSync(file, 'utf8'));
  passed += result.numPassedTests;
  failed += result.numFailedTests;
  skipped += result.numPendingTests + result.numTodoTests;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
