import { ExpectedVersion, type StoredEvent } from '@es/core';
import { ConsumerGroup, Projection, type ProjectionOptions } from '@es/replay';
import { describeWithService } from '@es/testing';
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import type { SqlSession } from '../connection/sql-executor.js';
import { PostgresEventStore } from '../events/postgres-event-store.js';
import {
  type AccountEvent,
  applyToReadModel,
  deposited,
  opened,
  readModelDdl,
  sleep,
  uniqueSchema,
} from '../testing/projection-read-model.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
import { PostgresPartitionLeaseStore } from './postgres-partition-lease-store.js';
import { PostgresProjectionLock } from './postgres-projection-lock.js';
import { PostgresProjectionStore } from './postgres-projection-store.js';

jest.setTimeout(30_000);

describeWithService('Projections on PostgreSQL (server)', 'DATABASE_URL', (url) => {
  let pool: pg.Pool;
  let schema: string;
  let eventStore: PostgresEventStore;
  const running: { stop(): Promise<void> }[] = [];

  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: url, max: 20 });
    schema = uniqueSchema();
    eventStore = new PostgresEventStore({ connection: pool, schema });
    await eventStore.migrate();
    await pool.query(readModelDdl(schema));
  });

  afterEach(async () => {
    for (const projection of running.splice(0)) await projection.stop();
    await eventStore.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  const handled = async (suffix = '') =>
    (
      await pool.query<{ position: string }>(`SELECT position FROM "${schema}".handled${suffix} ORDER BY seq`)
    ).rows.map((row) => BigInt(row.position));

  const storedPositions = async () =>
    (
      await pool.query<{ position: string }>(`SELECT position FROM "${schema}".events ORDER BY position`)
    ).rows.map((row) => BigInt(row.position));

  const storedEvents = async () =>
    (
      await pool.query<{ position: string; event_id: string; stream_id: string; type: string }>(
        `SELECT position, event_id, stream_id, type FROM "${schema}".events ORDER BY position`,
      )
    ).rows.map((row) => ({
      position: BigInt(row.position),
      eventId: row.event_id,
      streamId: row.stream_id,
      type: row.type,
    }));

  const exactlyOnce = (name: string, extra: Partial<ProjectionOptions<AccountEvent, SqlSession>> = {}) => {
    const projection = new Projection<AccountEvent, SqlSession>({
      name,
      eventStore,
      readModel: new PostgresProjectionStore({ connection: pool, schema }),
      handler: (event, sql) => applyToReadModel(sql, schema, event),
      batchSize: 50,
      ...extra,
    });
    running.push(projection);
    return projection;
  };

  it('8 concurrent writers on many streams: a live projection sees every event exactly once, in global order', async () => {
    // Only NOTIFY can wake it in time: the poll interval is longer than the test.
    const projection = exactlyOnce('live', { pollIntervalMs: 600_000 });
    const seenInMemory: bigint[] = [];
    const follower = new Projection<AccountEvent>({
      name: 'follower',
      eventStore,
      checkpoints: new PostgresCheckpointStore({ connection: pool, schema }),
      handler: (event) => void seenInMemory.push(event.position),
      batchSize: 37,
      pollIntervalMs: 600_000,
    });
    running.push(follower);
    projection.start();
    follower.start();
    const writer = async (w: number) => {
      const versions = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const streamId = `w${w}-s${i % 12}`;
        const version = versions.get(streamId) ?? 0;
        const count = 1 + (i % 3);
        const events = Array.from({ length: count }, (_, k) =>
          version + k === 0 ? opened(streamId) : deposited(version + k),
        );
        await eventStore.appendEvents(streamId, version === 0 ? ExpectedVersion.NoStream : version, events);
        versions.set(streamId, version + count);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    // Straight from the table: every committed event, in position order.
    const positions = await storedPositions();
    expect(positions).toHaveLength(8 * 20 * 6);
    const last = positions[positions.length - 1]!;
    await Promise.all([projection.waitForPosition(last), follower.waitForPosition(last)]);
    await follower.stop();

    expect(await handled()).toEqual(positions);
    expect(seenInMemory).toEqual(positions);
    expect(await projection.listParked()).toEqual([]);
  });

  it('a projection killed mid-replay and restarted loses nothing and builds the clean run’s read model', async () => {
    await pool.query(readModelDdl(schema, '_clean'));
    for (let s = 0; s < 40; s++) {
      const id = `acc-${s}`;
      await eventStore.appendEvents(id, ExpectedVersion.NoStream, [
        opened(id),
        ...[1, 2, 3, 4].map(deposited),
      ]);
      await eventStore.appendEvents(id, 5, [5, 6, 7, 8, 9].map(deposited));
    }
    const all = await storedEvents();
    const last = all[all.length - 1]!.position;

    const clean = new Projection<AccountEvent, SqlSession>({
      name: 'clean',
      eventStore,
      readModel: new PostgresProjectionStore({ connection: pool, schema }),
      handler: (event, sql) => applyToReadModel(sql, schema, event, '_clean'),
    });
    clean.start();
    await clean.waitForPosition(last);
    await clean.stop();

    const crash = new AbortController();
    let handledBeforeCrash = 0;
    const victim = exactlyOnce('victim', {
      batchSize: 30,
      signal: crash.signal,
      handler: async (event: StoredEvent<AccountEvent>, sql: SqlSession) => {
        await applyToReadModel(sql, schema, event);
        if (++handledBeforeCrash === 170) crash.abort(new Error('killed'));
      },
    });
    const died = new Promise((resolve) => crash.signal.addEventListener('abort', resolve));
    victim.start();
    await died;
    await victim.stop();
    // The crash rolled the batch 151..180 back: the read model holds exactly the committed batches.
    expect(await handled()).toEqual(all.slice(0, 150).map((e) => e.position));

    const restarted = exactlyOnce('victim');
    restarted.start();
    await restarted.waitForPosition(last);
    expect(await handled()).toEqual(all.map((e) => e.position));
    const balances = (suffix: string) =>
      pool.query(`SELECT stream_id, balance, version FROM "${schema}".balances${suffix} ORDER BY stream_id`);
    expect((await balances('')).rows).toEqual((await balances('_clean')).rows);
    expect((await balances('')).rows).toHaveLength(40);
  });

  it('parks a poison event with its error, undoes its partial writes, and projects the rest', async () => {
    for (let s = 0; s < 5; s++) {
      await eventStore.appendEvents(`p-${s}`, ExpectedVersion.NoStream, [
        opened(),
        deposited(1),
        deposited(2),
      ]);
    }
    const all = await storedEvents();
    const poison = all[7]!;
    const projection = exactlyOnce('poison', {
      batchSize: 4,
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 5 } },
      handler: async (event: StoredEvent<AccountEvent>, sql: SqlSession) => {
        await applyToReadModel(sql, schema, event);
        if (event.eventId === poison.eventId) throw new RangeError('amount out of range');
      },
    });
    projection.start();
    await projection.waitForPosition(all[all.length - 1]!.position);
    expect(await handled()).toEqual(all.filter((e) => e !== poison).map((e) => e.position));
    const parked = await projection.listParked();
    expect(parked).toEqual([
      expect.objectContaining({
        subscriptionId: 'poison',
        position: poison.position,
        eventId: poison.eventId,
        streamId: poison.streamId,
        eventType: 'Deposited',
        error: 'RangeError: amount out of range',
        attempts: 3,
      }),
    ]);
  });

  it('a consumer group serves an operator’s retry request: a failed retry is recorded, a fixed one handled exactly once', async () => {
    for (let s = 0; s < 4; s++) {
      await eventStore.appendEvents(`r-${s}`, ExpectedVersion.NoStream, [opened(), deposited(s + 1)]);
    }
    const all = await storedEvents();
    const poison = all[3]!;
    let fixed = false;
    const group = new ConsumerGroup<AccountEvent, SqlSession>({
      name: 'retried',
      partitions: 3,
      eventStore,
      leases: new PostgresPartitionLeaseStore({ connection: pool, schema }),
      readModel: new PostgresProjectionStore({ connection: pool, schema }),
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 5 } },
      pollIntervalMs: 50,
      heartbeatMs: 100,
      onError: () => undefined,
      handler: async (event, sql) => {
        await applyToReadModel(sql, schema, event);
        if (event.eventId === poison.eventId && !fixed) throw new RangeError('amount out of range');
      },
    });
    running.push(group);
    group.start();
    await group.waitForPosition(all[all.length - 1]!.position);
    const [parked] = await group.listParked();
    expect(parked).toMatchObject({ position: poison.position, attempts: 2 });
    // The operator is another process: its own store on its own connection.
    const operator = new PostgresProjectionStore({ connection: url, schema });
    const waitFor = async (done: () => Promise<boolean>) => {
      for (const deadline = Date.now() + 15_000; !(await done()); await sleep(50)) {
        if (Date.now() > deadline) throw new Error('the worker did not serve the request in 15 s');
      }
    };
    try {
      expect(await operator.requestRetry(parked!.subscriptionId, poison.position)).toBe(true);
      await waitFor(async () => (await operator.listParked(parked!.subscriptionId))[0]?.attempts === 3);
      const [failed] = await operator.listParked(parked!.subscriptionId);
      expect(failed!.retryRequestedAt).toBeUndefined();
      expect(failed!.error).toBe('RangeError: amount out of range');
      // Partitions commit in any order: compare as sets (sorted).
      const sorted = async () => (await handled()).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(await sorted()).toEqual(all.filter((e) => e !== poison).map((e) => e.position));

      fixed = true;
      expect(await operator.requestRetry(parked!.subscriptionId, poison.position)).toBe(true);
      await waitFor(async () => (await operator.listParked(parked!.subscriptionId)).length === 0);
      // Every event in the read model once (its primary key is the position), the retried one last.
      expect(await sorted()).toEqual(all.map((e) => e.position));
      expect((await handled()).at(-1)).toBe(poison.position);
    } finally {
      await operator.close();
    }
  });

  it('runs one instance at a time across connections; a standby takes over when the holder dies', async () => {
    await eventStore.appendEvents('x', ExpectedVersion.NoStream, [opened(), deposited(1), deposited(2)]);
    // The lease lives in the schema's lease table; a holder that dies stops renewing it, and it lapses.
    const lock = new PostgresProjectionLock({ connection: pool, schema, ttlMs: 1000, heartbeatMs: 200 });
    const crashA = new AbortController();
    const a = exactlyOnce('single', { lock, lockRetryMs: 50, signal: crashA.signal, pollIntervalMs: 100 });
    const b = exactlyOnce('single', { lock, lockRetryMs: 50, pollIntervalMs: 100 });
    a.start();
    const first = (await storedEvents())[2]!.position;
    await a.waitForPosition(first);
    b.start();
    await sleep(300);
    expect([a.active, b.active]).toEqual([true, false]);

    crashA.abort(new Error('process died'));
    const more = await eventStore.appendEvents('x', 3, [deposited(3), deposited(4)]);
    await b.waitForPosition(more.lastPosition);
    expect(b.active).toBe(true);
    expect(await handled()).toEqual((await storedEvents()).map((e) => e.position));
  });
});
