#!/usr/bin/env node
// Prints one closing line for the whole test run from the totals each package's jest recorded
// (tools/scripts/jest-totals-reporter.cjs), and fails when no test ran at all.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../../.test-results/', import.meta.url).pathname;
const reset = process.argv.includes('--reset');
if (reset) {
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
let files = [];
try {
  files = readdirSync(dir).filter((file) => file.endsWith('.json'));
} catch {
  // No package recorded anything: reported below.
}
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of files.sort()) {
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  console.log(
    `  ${result.package}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`,
  );
  for (const key of Object.keys(totals)) totals[key] += result[key];
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.passed === 0 || totals.failed > 0) process.exit(1);
