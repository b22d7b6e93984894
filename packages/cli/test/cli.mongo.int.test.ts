import { ExpectedVersion } from '@es/core';
import { MongoEventStore } from '@es/store-mongo';
import { describeWithService } from '@es/testing';
import { afterAll, expect, it, jest } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { es } from './run-cli.js';

jest.setTimeout(120_000);

describeWithService('es against MongoDB', 'MONGO_URL', (url) => {
  const database = `es_cli_${process.pid}_${Date.now().toString(36)}`;
  const connect = ['--mongo-url', url, '--database', database];

  afterAll(async () => {
    const client = new MongoClient(url);
    try {
      await client.db(database).dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('migrate --dry-run lists the pending migrations; migrate applies them', async () => {
    const dry = await es([...connect, 'migrate', '--dry-run', '--json']);
    expect(dry).toMatchObject({ code: 0 });
    expect(JSON.parse(dry.stdout).pending.length).toBeGreaterThan(0);
    const applied = await es([...connect, 'migrate', '--json']);
    expect(applied).toMatchObject({ code: 0 });
    expect(JSON.parse(applied.stdout).applied.length).toBeGreaterThan(0);
    const dryAgain = JSON.parse((await es([...connect, 'migrate', '--dry-run', '--json'])).stdout);
    expect(dryAgain.pending).toEqual([]);
  });

  it('streams, stats, tail and projections read what the library appended', async () => {
    const store = new MongoEventStore({ connection: url, database });
    try {
      await store.appendEvents('cart-1', ExpectedVersion.NoStream, [
        { type: 'Created', data: {} },
        { type: 'ItemAdded', data: { sku: 'a' } },
      ]);
      await store.appendEvents('cart-2', ExpectedVersion.NoStream, [{ type: 'Created', data: {} }]);
    } finally {
      await store.close();
    }
    const listed = JSON.parse((await es([...connect, 'streams', 'list', '--json'])).stdout);
    expect(listed.streams.map((s: { streamId: string; version: number }) => [s.streamId, s.version])).toEqual(
      [
        ['cart-1', 2],
        ['cart-2', 1],
      ],
    );
    const shown = JSON.parse((await es([...connect, 'streams', 'show', 'cart-1', '--json'])).stdout);
    expect(shown.map((e: { type: string }) => e.type)).toEqual(['Created', 'ItemAdded']);
    const stats = JSON.parse((await es([...connect, 'stats', '--json'])).stdout);
    expect(stats).toMatchObject({ events: 3, streams: 2 });
    const tail = await es([...connect, 'tail', '--from-start', '--count', '2']);
    expect(tail).toMatchObject({ code: 0 });
    expect(tail.stdout).toMatch(/cart-1@1 Created\n.*cart-1@2 ItemAdded/);
    expect(JSON.parse((await es([...connect, 'projections', 'list', '--json'])).stdout)).toEqual([]);
  });
});
