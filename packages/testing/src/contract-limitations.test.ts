import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';

jest.setTimeout(120_000);

interface AssertionResult {
  readonly title: string;
  readonly status: string;
  readonly ancestorTitles: readonly string[];
}

// Runs the contracts on stores that lack a capability, in their own jest process, and reads what
// jest reported: a missing capability must never pass green.
function runFixture(): AssertionResult[] {
  const root = join(__dirname, '..');
  let output: string;
  try {
    output = execFileSync(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        '--rootDir',
        root,
        '--testMatch',
        '<rootDir>/src/__fixtures__/limitations.fixture.ts',
        '--json',
        '--silent',
        '--reporters',
        'default',
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
  } catch (error) {
    // jest exits 1 because some contract tests fail on purpose.
    output = (error as { stdout: string }).stdout;
  }
  const report = JSON.parse(output) as { testResults: { assertionResults: AssertionResult[] }[] };
  return report.testResults.flatMap((file) => file.assertionResults);
}

describe('contract limitations', () => {
  const results = runFixture();
  const of = (suite: string, title: string) =>
    results.filter((r) => r.ancestorTitles.some((a) => a.includes(suite)) && r.title.startsWith(title));

  it('a store without saveIf that does not declare it fails the saveIf tests, saying what to do', () => {
    const saveIf = of('CheckpointStore contract: undeclared', 'saveIf');
    expect(saveIf.map((r) => r.status)).toEqual(['failed', 'failed']);
  });

  it('a declared limitation shows the saveIf tests as skipped, with the reason in the title', () => {
    const saveIf = of('CheckpointStore contract: declared', 'saveIf');
    expect(saveIf).toHaveLength(2);
    for (const result of saveIf) {
      expect(result.status).toBe('pending');
      expect(result.title).toContain('not run for this store: this test store has no compare-and-set');
    }
    // The rest of the contract still runs and passes.
    const others = results.filter(
      (r) =>
        r.ancestorTitles.some((a) => a.includes('CheckpointStore contract: declared')) &&
        !r.title.startsWith('saveIf'),
    );
    expect(others.length).toBeGreaterThan(0);
    for (const result of others) expect(result.status).toBe('passed');
  });

  it('a projection store that does not declare its limitations fails their tests', () => {
    const suite = 'ProjectionStore contract: undeclared projection store';
    expect(of(suite, 'commitBatch returns false').map((r) => r.status)).toEqual(['failed']);
    expect(of(suite, 'commitBatch lets exactly one').map((r) => r.status)).toEqual(['failed']);
    expect(of(suite, 'a failed commitBatch keeps none').map((r) => r.status)).toEqual(['failed']);
    expect(of(suite, 'a commitBatch refused').map((r) => r.status)).toEqual(['failed']);
  });

  it('a projection store with declared limitations shows their tests as skipped, the rest passing', () => {
    const suite = 'ProjectionStore contract: declared projection store';
    const declared = results.filter((r) => r.ancestorTitles.some((a) => a.includes(suite)));
    const skipped = declared.filter((r) => r.status === 'pending');
    expect(skipped.map((r) => r.title).filter((t) => t.includes('not run for this store: '))).toHaveLength(
      skipped.length,
    );
    expect(skipped.length).toBeGreaterThanOrEqual(4);
    const others = declared.filter((r) => r.status !== 'pending');
    expect(others.length).toBeGreaterThan(0);
    for (const result of others) expect(result.status).toBe('passed');
  });

  it('the registry contract shows a test it cannot run as skipped, with the reason', () => {
    const upcast = of('registry contract with a declared limitation', 'upcasts events written by older code');
    expect(upcast).toHaveLength(1);
    expect(upcast[0]!.status).toBe('pending');
    expect(upcast[0]!.title).toContain('not run for this adapter: this test store cannot share storage');
  });
});
