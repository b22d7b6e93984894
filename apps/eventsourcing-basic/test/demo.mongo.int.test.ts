import { describeWithService } from '@es/testing';
import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { type DemoResult, runDemo } from '../src/demo.js';
import { accountEvents } from '../src/domain/account-events.js';
import { uniqueSchema } from './support.js';

// The demo on MongoDB (a replica set), in a database of this run's own, dropped afterwards.
describeWithService(
  'the bank app on MongoDB',
  'MONGO_URL',
  (url) => {
    const database = uniqueSchema('bank_app');
    const results: DemoResult[] = [];

    beforeAll(async () => {
      for (let run = 0; run < 2; run++) {
        const storage = await openStorage({
          registry: accountEvents,
          schema: 'bank',
          dataDir: '/nonexistent',
          env: { MONGO_URL: url, ES_SCHEMA: database },
        });
        try {
          results.push(await runDemo({ storage, print: () => {} }));
        } finally {
          await storage.close();
        }
      }
    }, 90_000);

    afterAll(async () => {
      const client = new MongoClient(url);
      await client.db(database).dropDatabase();
      await client.close();
    });

    it('continues the first run on the second, with every deposit kept', () => {
      expect(results.map((r) => [r.continuedEarlierRun, r.aliceBalance, r.aliceVersion])).toEqual([
        [false, 160, 6],
        [true, 320, 11],
      ]);
      expect(results.map((r) => r.replayedEvents)).toEqual([10, 16]);
      for (const result of results) expect(result.concurrencyRetries).toBeGreaterThanOrEqual(1);
    });
  },
  'set MONGO_URL to a MongoDB replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0',
);
