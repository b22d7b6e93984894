import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type DemoResult, runDemo } from '../src/demo.js';
import { productEvents, UNKNOWN_SUPPLIER } from '../src/domain/product-events.js';
import { temporaryDataDir } from './support.js';

// Runs the demo twice over the same PGlite folder, each time with its own storage (as two
// processes would): the old v1 event keeps loading, and the read model matches the aggregates.
describe('the warehouse demo on PGlite, run twice', () => {
  let dataDir: { path: string; remove(): Promise<void> };
  const runs: { result: DemoResult; output: string[] }[] = [];

  beforeAll(async () => {
    dataDir = await temporaryDataDir();
    for (let run = 0; run < 2; run++) {
      const storage = await openStorage({
        registry: productEvents,
        schema: 'warehouse',
        dataDir: dataDir.path,
        env: {},
      });
      const output: string[] = [];
      try {
        runs.push({ result: await runDemo({ storage, print: (line) => output.push(line) }), output });
      } finally {
        await storage.close();
      }
    }
  }, 300_000);

  afterAll(() => dataDir.remove());

  it('runs on PGlite, and the second run continues the first', () => {
    expect(runs[0]!.output[1]).toMatch(/^Storage: PGlite \(embedded PostgreSQL\)/);
    expect(runs.map((run) => run.result.continuedEarlierRun)).toEqual([false, true]);
  });

  it('keeps the first release event stored as v1 and reads it as v2', () => {
    for (const { result } of runs) {
      expect(result.storedV1).toEqual({ schemaVersion: 1, data: { qty: 40 } });
      expect(result.upcast).toEqual({ schemaVersion: 2, data: { quantity: 40, supplier: UNKNOWN_SUPPLIER } });
    }
  });

  it('keeps a stock read model that matches the aggregates after each run', () => {
    // Per run: lamps +10 received, 3 shipped; desks +12 received, 1 written off, 2 reserved.
    expect(runs.map((run) => run.result.stock)).toEqual([
      [
        { sku: 'DESK-02', viewOnHand: 11, aggregateOnHand: 11, available: 9 },
        { sku: 'LAMP-01', viewOnHand: 47, aggregateOnHand: 47, available: 47 },
      ],
      [
        { sku: 'DESK-02', viewOnHand: 22, aggregateOnHand: 22, available: 18 },
        { sku: 'LAMP-01', viewOnHand: 54, aggregateOnHand: 54, available: 54 },
      ],
    ]);
  });

  it('refuses the reservation and the adjustment the stock cannot cover', () => {
    for (const { output } of runs) {
      const text = output.join('\n');
      expect(text).toContain('refused with InsufficientStockError (WAREHOUSE_INSUFFICIENT_STOCK)');
      expect(text).toContain('refused with AdjustmentRefusedError (WAREHOUSE_ADJUSTMENT_REFUSED)');
    }
  });

  it('keeps the read model in a table whose projection resumes from its checkpoint on the second run', () => {
    expect(runs[0]!.result.resumedFrom).toBeUndefined();
    expect(typeof runs[1]!.result.resumedFrom).toBe('bigint');
    expect(runs[1]!.output).toContain(
      '   the read model lives in the table warehouse.stock, updated in the same transaction as its checkpoint',
    );
  });

  it('takes snapshots every 5 events', () => {
    expect(runs[0]!.result.snapshotsTaken).toBe(1);
    expect(runs[1]!.result.snapshotsTaken).toBeGreaterThanOrEqual(1);
  });
});

describe('the warehouse demo in memory', () => {
  it('keeps the read model in memory, caught up from the log, equal to the aggregates', async () => {
    const storage = await openStorage({
      registry: productEvents,
      schema: 'warehouse',
      dataDir: '/nonexistent',
      env: { ES_STORE: 'memory' },
    });
    const output: string[] = [];
    try {
      const result = await runDemo({ storage, print: (line) => output.push(line) });
      expect(result.resumedFrom).toBeUndefined();
      expect(result.stock.map((row) => [row.sku, row.viewOnHand, row.aggregateOnHand])).toEqual([
        ['DESK-02', 11, 11],
        ['LAMP-01', 47, 47],
      ]);
      expect(output).toContain(
        '   the read model lives in process memory, rebuilt from the log by every process',
      );
    } finally {
      await storage.close();
    }
  }, 60_000);
});
