import { ExpectedVersion } from '@es/core';
import { ConsumerGroup } from '@es/replay';
import {
  createSqlExecutor,
  PostgresEventStore,
  PostgresPartitionLeaseStore,
  PostgresProjectionStore,
  type SqlExecutor,
} from '@es/store-postgres';
import { describeWithService } from '@es/testing';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { es } from './run-cli.js';

jest.setTimeout(120_000);

describeWithService('es parked retry --request against a PostgreSQL server', 'DATABASE_URL', (url) => {
  const schema = `es_cli_req_${process.pid}_${Date.now().toString(36)}`;
  const connect = ['--url', url, '--schema', schema];
  let admin: SqlExecutor;
  let store: PostgresEventStore;
  let leases: PostgresPartitionLeaseStore;
  let readModel: PostgresProjectionStore;

  beforeAll(async () => {
    admin = createSqlExecutor(url);
    expect(await es([...connect, 'migrate'])).toMatchObject({ code: 0 });
    store = new PostgresEventStore({ connection: url, schema });
    leases = new PostgresPartitionLeaseStore({ connection: url, schema });
    readModel = new PostgresProjectionStore({ connection: url, schema });
  });
  afterAll(async () => {
    await Promise.all([store?.close(), leases?.close(), readModel?.close()]);
    await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  });

  /** A worker of group "orders" whose handler fails on OrderCancelled until `fixed.value` is true. */
  const worker = (handled: string[], fixed: { value: boolean }) =>
    new ConsumerGroup({
      name: 'orders',
      partitions: 2,
      eventStore: store,
      leases,
      readModel,
      pollIntervalMs: 50,
      heartbeatMs: 100,
      retry: { maxAttempts: 1 },
      onError: () => undefined,
      handler: (event) => {
        if (event.type === 'OrderCancelled' && !fixed.value) throw new Error('cannot cancel yet');
        handled.push(`${event.streamId} ${event.type}`);
      },
    });

  it('marks parked events for the running worker, which retries them with its own handler', async () => {
    await store.appendEvents('order-1', ExpectedVersion.NoStream, [
      { type: 'OrderPlaced', data: {} },
      { type: 'OrderCancelled', data: {} },
    ]);
    const { lastPosition } = await store.appendEvents('order-2', ExpectedVersion.NoStream, [
      { type: 'OrderPlaced', data: {} },
    ]);
    const handled: string[] = [];
    const fixed = { value: false };
    const first = worker(handled, fixed);
    first.start();
    await first.waitForPosition(lastPosition);
    await first.stop();
    const [parked] = JSON.parse((await es([...connect, 'parked', 'list', 'orders', '--json'])).stdout);
    expect(parked).toMatchObject({ eventType: 'OrderCancelled', attempts: 1 });
    expect(parked.retryRequestedAt).toBeUndefined();

    // --module and --request are the two ways; exactly one is needed.
    for (const flags of [[], ['--request', '--module', 'x.mjs']]) {
      const refused = await es([...connect, 'parked', 'retry', 'orders', '--all', ...flags]);
      expect(refused).toMatchObject({ code: 2 });
      expect(refused.stderr).toMatch(/^es: ES_CLI_USAGE: Give --module <path> \(retry here\) or --request/);
    }

    const requested = await es([...connect, 'parked', 'retry', 'orders', '--all', '--request', '--json']);
    expect(requested).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(requested.stdout)).toEqual({
      requested: [{ subscriptionId: parked.subscriptionId, position: parked.position }],
    });
    // No worker runs: the request waits, visible in the listing.
    const [marked] = JSON.parse((await es([...connect, 'parked', 'list', 'orders', '--json'])).stdout);
    expect(Date.parse(marked.retryRequestedAt)).toBeGreaterThan(Date.parse(marked.parkedAt));
    const table = await es([...connect, 'parked', 'list']);
    expect(table.stdout).toMatch(
      /^SUBSCRIPTION\s+POSITION\s+STREAM\s+TYPE\s+ATTEMPTS\s+PARKED AT\s+RETRY REQUESTED\s+ERROR$/m,
    );
    expect(table.stdout).toMatch(
      new RegExp(
        `^${parked.subscriptionId}\\s+${parked.position}\\s+order-1\\s+OrderCancelled\\s+1\\s+\\S+\\s+\\d{4}-\\S+Z\\s+Error: cannot cancel yet$`,
        'm',
      ),
    );

    // A worker with the fixed handler comes up and serves the request.
    fixed.value = true;
    const second = worker(handled, fixed);
    second.start();
    try {
      const deadline = Date.now() + 15_000;
      while (JSON.parse((await es([...connect, 'parked', 'list', 'orders', '--json'])).stdout).length > 0) {
        if (Date.now() > deadline) throw new Error('the worker did not serve the retry request in 15 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await second.stop();
    }
    expect(handled).toContain('order-1 OrderCancelled');
    expect(handled.filter((line) => line === 'order-1 OrderCancelled')).toHaveLength(1);
    const none = await es([...connect, 'parked', 'retry', 'orders', '--all', '--request']);
    expect(none).toMatchObject({ code: 0 });
    expect(none.stdout).toMatch(/^Requested a retry of 0 parked event\(s\)/);
  });
});
