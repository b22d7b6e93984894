import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type DemoResult, runDemo } from '../src/demo.js';
import { accountEvents } from '../src/domain/account-events.js';
import { temporaryDataDir } from './support.js';

// Runs the demo twice over the same PGlite folder, each time with its own storage (as two
// processes would): the second run must find and continue the first one's history.
describe('the bank demo on PGlite, run twice', () => {
  let dataDir: { path: string; remove(): Promise<void> };
  const runs: { result: DemoResult; output: string[] }[] = [];

  beforeAll(async () => {
    dataDir = await temporaryDataDir();
    for (let run = 0; run < 2; run++) {
      const storage = await openStorage({
        registry: accountEvents,
        schema: 'bank',
        dataDir: dataDir.path,
        env: {},
      });
      const output: string[] = [];
      try {
        const result = await runDemo({ storage, print: (line) => output.push(line) });
        runs.push({ result, output });
      } finally {
        await storage.close();
      }
    }
  }, 300_000);

  afterAll(() => dataDir.remove());

  it('runs on PGlite in the given folder', () => {
    expect(runs[0]!.output[1]).toMatch(/^Storage: PGlite \(embedded PostgreSQL\), data in .*bank-app-test-/);
  });

  it('starts from nothing on the first run and continues its history on the second', () => {
    expect(runs.map((run) => run.result.continuedEarlierRun)).toEqual([false, true]);
    expect(runs[1]!.output.join('\n')).toMatch(
      /alice is already here from an earlier run \(opened [-\d: ]+\): balance 160, version 6\./,
    );
  });

  it('keeps every deposit: 160 per run, including both concurrent tellers', () => {
    expect(runs.map((run) => [run.result.aliceBalance, run.result.aliceVersion])).toEqual([
      [160, 6],
      [320, 11],
    ]);
  });

  it('resolves the concurrent update by retrying after a real conflict', () => {
    for (const { result, output } of runs) {
      expect(result.concurrencyRetries).toBeGreaterThanOrEqual(1);
      expect(output.join('\n')).toContain(
        'was refused with ConcurrencyConflictError: reloading and retrying',
      );
    }
  });

  it('refuses the uncovered withdrawal and the deposit into the closed account', () => {
    for (const { output } of runs) {
      const text = output.join('\n');
      expect(text).toContain('refused with InsufficientFundsError (BANK_INSUFFICIENT_FUNDS)');
      expect(text).toContain('carol +10: refused with AccountClosedError (BANK_ACCOUNT_CLOSED)');
    }
  });

  it('takes a snapshot every 5 events', () => {
    expect(runs[0]!.result.snapshotsTaken).toEqual([5]);
    expect(runs[1]!.result.snapshotsTaken.length).toBeGreaterThanOrEqual(1);
  });

  it('rebuilds the balances by replaying every account event, all runs together', () => {
    // Run 1: alice 6, bob 2, carol 2. Run 2 adds alice 5 and bob 1.
    expect(runs.map((run) => run.result.replayedEvents)).toEqual([10, 16]);
    expect(runs[1]!.output).toContain('   money in the bank: 400');
  });
});
