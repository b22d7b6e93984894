// A jest reporter that records each package's totals in .test-results/, so that the workspace's
// test command can print one closing line for the whole run (tools/scripts/test-summary.mjs).
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

class JestTotalsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const dir = join(__dirname, '..', '..', '.test-results');
    mkdirSync(dir, { recursive: true });
    const name = require(join(this.rootDir, 'package.json')).name;
    const totals = {
      package: name,
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    writeFileSync(join(dir, `${name.replace(/[^a-z0-9._-]/gi, '_')}.json`), JSON.stringify(totals));
  }
}

module.exports = JestTotalsReporter;
