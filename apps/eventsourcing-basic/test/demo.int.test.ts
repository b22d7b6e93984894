import { describeWithService } from '@es/testing';
import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { runCommandLine } from '../src/cli.js';
import { type DemoResult, runDemo } from '../src/demo.js';
import { accountEvents } from '../src/domain/account-events.js';
import { uniqueSchema } from './support.js';

// The same flows as on PGlite, on the PostgreSQL server, in a schema of this run's own.
describeWithService('the bank app on a PostgreSQL server', 'DATABASE_URL', (url) => {
  const schema = uniqueSchema('bank_app');
  const env = { DATABASE_URL: url, ES_SCHEMA: schema };
  const open = () => openStorage({ registry: accountEvents, schema: 'bank', dataDir: '/nonexistent', env });
  const results: DemoResult[] = [];
  const outputs: string[][] = [];

  beforeAll(async () => {
    for (let run = 0; run < 2; run++) {
      const storage = await open();
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

  it('runs on the server, in its own schema', () => {
    expect(outputs[0]![1]).toContain(`schema "${schema}"`);
    expect(outputs[0]![1]).toMatch(/^Storage: PostgreSQL at /);
  });

  it('continues the first run on the second, with nothing lost', () => {
    expect(results.map((r) => [r.continuedEarlierRun, r.aliceBalance, r.aliceVersion])).toEqual([
      [false, 160, 6],
      [true, 320, 11],
    ]);
    expect(results.map((r) => r.replayedEvents)).toEqual([10, 16]);
  });

  it('resolves the two tellers by a retry after a real conflict on the server', () => {
    for (const result of results) expect(result.concurrencyRetries).toBeGreaterThanOrEqual(1);
  });

  it('runs the CLI against the same data', async () => {
    const storage = await open();
    const output: string[] = [];
    const print = { out: (line: string) => output.push(line), err: (line: string) => output.push(line) };
    try {
      expect(await runCommandLine(['balance', 'alice'], storage, print)).toBe(0);
      expect(await runCommandLine(['withdraw', 'bob', '1000'], storage, print)).toBe(1);
    } finally {
      await storage.close();
    }
    expect(output[0]).toBe('alice (Alice, open): balance 320 at version 11');
    expect(output[1]).toContain('[BANK_INSUFFICIENT_FUNDS]');
  });
});
