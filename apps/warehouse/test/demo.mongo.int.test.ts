import { describeWithService } from '@es/testing';
import { openStorage } from '@es-samples/storage';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { type DemoResult, runDemo } from '../src/demo.js';
import { productEvents, UNKNOWN_SUPPLIER } from '../src/domain/product-events.js';
import { uniqueSchema } from './support.js';

// The demo on MongoDB (a replica set), in a database of this run's own, dropped afterwards.
describeWithService(
  'the warehouse app on MongoDB',
  'MONGO_URL',
  (url) => {
    const database = uniqueSchema('warehouse_app');
    const results: DemoResult[] = [];

    beforeAll(async () => {
      for (let run = 0; run < 2; run++) {
        const storage = await openStorage({
          registry: productEvents,
          schema: 'warehouse',
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

    it('reads the v1 event upcast and keeps the read model equal to the aggregates', () => {
      expect(results.map((r) => r.continuedEarlierRun)).toEqual([false, true]);
      expect(results[1]!.upcast).toEqual({
        schemaVersion: 2,
        data: { quantity: 40, supplier: UNKNOWN_SUPPLIER },
      });
      expect(results[1]!.stock.map((row) => [row.sku, row.viewOnHand, row.aggregateOnHand])).toEqual([
        ['DESK-02', 22, 22],
        ['LAMP-01', 54, 54],
      ]);
    });
  },
  'set MONGO_URL to a MongoDB replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0',
);
