import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

// Imports the package by its published name through its exports map (dist), as a user would.
const packageDir = join(__dirname, '..');
const run = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8' }).trim();

const expected = [
  'ConsumerGroup',
  'DEFAULT_PARALLELISM',
  'EventReplayer',
  'InMemoryHandledPositions',
  'Projection',
  'describeConsumerGroup',
  'describeError',
  'rebuildProjection',
  'skipHandledEvents',
].join(',');

describe('@es/replay as published', () => {
  it('loads through the exports map as ESM and as CommonJS, with the same public names', () => {
    const esm = run([
      '--input-type=module',
      '-e',
      "import * as m from '@es/replay'; console.log(Object.keys(m).sort().join(','))",
    ]);
    const cjs = run(['-e', "console.log(Object.keys(require('@es/replay')).sort().join(','))"]);
    expect(esm).toBe(expected);
    expect(cjs).toBe(expected);
  });
});
