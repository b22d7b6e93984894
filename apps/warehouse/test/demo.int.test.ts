import { describeWithService } from '@es/testing';
import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { type DemoResult, runDemo } from '../src/demo.js';
import { productEvents, UNKNOWN_SUPPLIER } from '../src/domain/product-events.js';
import { uniqueSchema } from './support.js';

// The same flow as on PGlite, on the PostgreSQL server, in a schema of this run's own.
describeWithService('the warehouse app on a PostgreSQL server', 'DATABASE_URL', (url) => {
  const schema = uniqueSchema('warehouse_app');
  const results: DemoResult[] = [];
  const outputs: string[][] = [];

  beforeAll(async () => {
    for (let run = 0; run < 2; run++) {
      const storage = await openStorage({
        registry: productEvents,
        schema: 'warehouse',
        dataDir: '/nonexistent',
        env: { DATABASE_URL: url, ES_SCHEMA: schema },
      });
      const output: string[] = [];
      try {
        results.push(await runDemo({ storage, print: (line) => output.push(line) }));
        outputs.push(output);
      } finally {
        await storage.close();
      }
    }
  }, 120_000);

  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it('runs on the server, in its own schema, and continues the first run on the second', () => {
    expect(outputs[0]![1]).toContain(
      `PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')}, schema "${schema}"`,
    );
    expect(results.map((r) => r.continuedEarlierRun)).toEqual([false, true]);
  });

  it('reads the v1 event upcast to v2', () => {
    expect(results[1]!.storedV1).toEqual({ schemaVersion: 1, data: { qty: 40 } });
    expect(results[1]!.upcast).toEqual({
      schemaVersion: 2,
      data: { quantity: 40, supplier: UNKNOWN_SUPPLIER },
    });
  });

  it('keeps the live read model, a table in the schema, equal to the aggregates', () => {
    expect(results[1]!.resumedFrom).toBeDefined();
    expect(results[1]!.stock.map((row) => [row.sku, row.viewOnHand, row.aggregateOnHand])).toEqual([
      ['DESK-02', 22, 22],
      ['LAMP-01', 54, 54],
    ]);
  });
});
