// Reading the log from a hot standby (docs/replicas.md): appends go to the primary, followers read
// from a streaming replica. The test starts both clusters itself (initdb, pg_basebackup, pg_ctl on
// free ports in temporary directories) and stops them afterwards. What a user relies on: the standby
// returns what the primary committed, a follower reading the standby's global log by position never
// skips nor repeats an event while writers on the primary commit out of position order
// (invariant 3), a projection can read from the standby and commit its read model on the primary,
// and an append sent to the standby fails with a typed error and writes nothing.

import { randomUUID } from 'node:crypto';
import {
  type DomainEvent,
  type EventSourcingError,
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryParkedEventStore,
  InMemoryPartitionLeaseStore,
  isEventSourcingError,
  isEventStoreUnavailableError,
  type StoredEvent,
} from '@es/core';
import { ConsumerGroup, Projection } from '@es/replay';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { SqlSession } from '../src/connection/sql-executor.js';
import { PostgresEventStore } from '../src/events/postgres-event-store.js';
import { PostgresProjectionStore } from '../src/projections/postgres-projection-store.js';
import { migrate } from '../src/schema/migrate.js';
import { type ReplicaPair, startReplicaPair } from './replica-cluster.js';
import { findPostgresBinaries } from './scratch-cluster.js';

const DATABASE = 'app';
const bin = findPostgresBinaries();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeWithBinaries(title: string, body: (bin: string) => void): void {
  if (bin) {
    describe(title, () => body(bin));
    return;
  }
  const required = (process.env.ES_REQUIRE_SERVICES ?? '').split(',').includes('PG_BIN');
  if (required) {
    describe(title, () => {
      it('needs the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup), which ES_REQUIRE_SERVICES marks as required', () => {
        throw new Error('No PostgreSQL binaries under /usr/lib/postgresql/*/bin or ES_PG_BIN.');
      });
    });
    return;
  }
  const reason = `${title}: skipped because initdb, pg_ctl and pg_basebackup were not found (install the postgresql package or set ES_PG_BIN).`;
  process.stderr.write(`${reason}\n`);
  describe.skip(reason, () => body(''));
}

async function readAll(store: PostgresEventStore, from = 0n, batchSize = 50): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.getAllEvents(from, { batchSize })) events.push(event);
  return events;
}

const summary = (event: StoredEvent) => ({
  eventId: event.eventId,
  streamId: event.streamId,
  version: event.version,
  position: event.position,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
});

/** The payload of the append function (migrations 001/004/005) for events with these ids. */
const functionPayload = (ids: readonly string[]) =>
  JSON.stringify(ids.map((id, i) => ({ id, type: 'Held', sv: 1, data: { i }, meta: {} })));

describeWithBinaries('reading the log from a hot standby', (bin) => {
  let pair: ReplicaPair;
  let primaryPool: pg.Pool;
  let standbyPool: pg.Pool;
  const stores: PostgresEventStore[] = [];

  /** A fresh schema migrated on the primary, with a store on each side (the standby's only reads). */
  async function freshStores(): Promise<{
    schema: string;
    primary: PostgresEventStore;
    standby: PostgresEventStore;
  }> {
    const schema = `es_replica_${randomUUID().slice(0, 8)}`;
    await migrate({ connection: primaryPool, schema });
    const primary = new PostgresEventStore({ connection: primaryPool, schema, notify: false });
    // NOTIFY is not replicated (and a standby cannot send one): the standby store polls.
    const standby = new PostgresEventStore({ connection: standbyPool, schema, notify: false });
    stores.push(primary, standby);
    await pair.waitForReplay();
    return { schema, primary, standby };
  }

  beforeAll(async () => {
    pair = await startReplicaPair(bin);
    await pair.primary.psql(`CREATE DATABASE ${DATABASE}`);
    await pair.waitForReplay();
    primaryPool = new pg.Pool({ connectionString: pair.primary.url(DATABASE), max: 16 });
    standbyPool = new pg.Pool({ connectionString: pair.standby.url(DATABASE), max: 6 });
    primaryPool.on('error', () => undefined);
    standbyPool.on('error', () => undefined);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    await Promise.allSettled([primaryPool?.end(), standbyPool?.end()]);
    await pair?.destroy();
  }, 120_000);

  it('is a read-only copy of the same cluster', async () => {
    const systemId = 'SELECT system_identifier::text AS id FROM pg_control_system()';
    const [onPrimary, onStandby] = await Promise.all([
      primaryPool.query(systemId),
      standbyPool.query(systemId),
    ]);
    expect(onStandby.rows[0].id).toBe(onPrimary.rows[0].id);
    expect((await standbyPool.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true);
    expect((await primaryPool.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(false);
  }, 30_000);

  it('returns the streams, the events by type and the global log the primary committed', async () => {
    const { primary, standby } = await freshStores();
    // Before any append (no era yet): empty reads, no write attempted.
    expect(await readAll(standby)).toEqual([]);
    expect(await standby.getEvents('account-a')).toEqual([]);
    expect(await standby.getStreamVersion('account-a')).toBe(0);

    await primary.appendEvents('account-a', ExpectedVersion.NoStream, [
      { type: 'Opened', data: { owner: 'Ada' }, metadata: { by: 'test' } },
      { type: 'Deposited', data: { amount: 10 } },
    ]);
    await primary.appendEvents('account-b', ExpectedVersion.Any, [{ type: 'Opened', data: { owner: 'Bo' } }]);
    await primary.appendEvents('account-a', 2, [{ type: 'Withdrawn', data: { amount: 4 } }]);
    await primary.appendEvents('account-b', ExpectedVersion.StreamExists, [
      { type: 'Deposited', data: { amount: 7 } },
    ]);
    await pair.waitForReplay();

    const log = await readAll(primary);
    expect(log).toHaveLength(5);
    expect((await readAll(standby, 0n, 2)).map(summary)).toEqual(log.map(summary));
    // Resuming from any position returns exactly the events after it, as on the primary.
    for (const [i, event] of log.entries()) {
      expect((await readAll(standby, event.position)).map((e) => e.eventId)).toEqual(
        log.slice(i + 1).map((e) => e.eventId),
      );
    }
    expect((await standby.getEvents('account-a')).map(summary)).toEqual(
      (await primary.getEvents('account-a')).map(summary),
    );
    expect((await standby.getEvents('account-b', 1)).map((e) => e.type)).toEqual(['Deposited']);
    expect(await standby.getStreamVersion('account-a')).toBe(3);
    expect(await standby.streamExists('account-b')).toBe(true);
    expect(await standby.streamExists('account-c')).toBe(false);
    expect((await standby.getEventsByType(['Deposited', 'Withdrawn'])).map(summary)).toEqual(
      (await primary.getEventsByType(['Deposited', 'Withdrawn'])).map(summary),
    );
    expect(
      (await standby.getEventsByType('Opened', undefined, { afterPosition: log[0]!.position })).map(
        (e) => e.streamId,
      ),
    ).toEqual(['account-b']);
  }, 60_000);

  it('hides a later commit until every older writer of the primary has finished', async () => {
    const { schema, primary, standby } = await freshStores();
    const first = await primary.appendEvents('before', ExpectedVersion.NoStream, [
      { type: 'Opened', data: {} },
    ]);
    const slow = await primaryPool.connect();
    try {
      await slow.query('BEGIN');
      // The slow writer takes its transaction id, and so its positions, first, and holds them.
      await slow.query(`SELECT * FROM "${schema}".events_append($1, 0, true, $2::jsonb, false)`, [
        'slow',
        functionPayload([randomUUID()]),
      ]);
      const fast = await primary.appendEvents('fast', ExpectedVersion.NoStream, [
        { type: 'Opened', data: {} },
      ]);
      await pair.waitForReplay();

      // The standby has replayed the later commit: its stream shows it...
      expect((await standby.getEvents('fast')).map((e) => e.position)).toEqual([fast.lastPosition]);
      // ...but the standby's global log holds it back, as the primary's does: the standby knows the
      // slow writer is still running, and a follower that took 'fast' would skip 'slow'.
      expect(await readAll(standby, first.lastPosition)).toEqual([]);
      expect(await readAll(primary, first.lastPosition)).toEqual([]);
      expect(
        await standby.getEventsByType('Opened', undefined, { afterPosition: first.lastPosition }),
      ).toEqual([]);

      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    await pair.waitForReplay();
    const after = await readAll(standby, first.lastPosition);
    expect(after.map((e) => e.streamId)).toEqual(['slow', 'fast']);
    expect(after[0]!.position < after[1]!.position).toBe(true);
  }, 60_000);

  it('8 writers and slow transactions on the primary, a follower on the standby: every event once, in order', async () => {
    const { schema, primary, standby } = await freshStores();
    const written = new Set<string>();
    let lastAcknowledged = 0n;
    const acknowledge = (position: bigint) => {
      if (position > lastAcknowledged) lastAcknowledged = position;
    };
    let writing = true;

    // Each writer appends to streams of its own, 1 to 3 events at a time.
    const writer = async (w: number) => {
      const versions = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        const streamId = `w${w}-s${i % 25}`;
        const version = versions.get(streamId) ?? 0;
        const batch = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
          type: 'Deposited',
          data: { amount: k },
          eventId: randomUUID(),
        }));
        const { lastPosition } = await primary.appendEvents(
          streamId,
          version === 0 ? ExpectedVersion.NoStream : version,
          batch,
        );
        versions.set(streamId, version + batch.length);
        for (const event of batch) written.add(event.eventId);
        acknowledge(lastPosition);
      }
    };
    // Slow writers: take positions, then hold the transaction open while the others commit higher
    // positions, so that lower positions keep committing later.
    const holder = async (h: number) => {
      const client = await primaryPool.connect();
      try {
        for (let i = 0; i < 40; i++) {
          const ids = [randomUUID(), randomUUID()];
          await client.query('BEGIN');
          const { rows } = await client.query<{ o_position: string }>(
            `SELECT o_position FROM "${schema}".events_append($1, -1, true, $2::jsonb, false)`,
            [`held-${h}`, functionPayload(ids)],
          );
          await sleep(5 + ((i * 7) % 25));
          await client.query('COMMIT');
          for (const id of ids) written.add(id);
          acknowledge(BigInt(rows[0]!.o_position));
        }
      } finally {
        client.release();
      }
    };

    const seen: StoredEvent[] = [];
    let reads = 0;
    // The follower stops once it has passed the last acknowledged append, not at the first empty
    // read after the writers finish: replication lag and older transactions delay visibility.
    const follow = async () => {
      let checkpoint = 0n;
      const deadline = Date.now() + 120_000;
      while (writing || checkpoint < lastAcknowledged) {
        for await (const event of standby.getAllEvents(checkpoint, { batchSize: 50 })) {
          seen.push(event);
          checkpoint = event.position;
        }
        reads++;
        if (Date.now() > deadline) throw new Error(`follower stuck at ${checkpoint} < ${lastAcknowledged}`);
        await sleep(2);
      }
    };
    const following = follow();
    try {
      await Promise.all([
        ...Array.from({ length: 8 }, (_, w) => writer(w)),
        ...Array.from({ length: 2 }, (_, h) => holder(h)),
      ]);
    } finally {
      writing = false;
    }
    await following;

    const log = await readAll(primary, 0n, 500);
    expect(log.length).toBe(written.size);
    expect(written.size).toBeGreaterThan(4000);
    expect(new Set(log.map((e) => e.eventId))).toEqual(written);
    // Exactly the primary's log: every event once, same positions, same order.
    expect(seen.map((e) => [e.eventId, e.position])).toEqual(log.map((e) => [e.eventId, e.position]));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.position > seen[i - 1]!.position).toBe(true);
    expect(reads).toBeGreaterThan(1);
  }, 180_000);

  it('a projection reads from the standby and commits its read model on the primary: every event once', async () => {
    const { schema, primary, standby } = await freshStores();
    await primaryPool.query(
      `CREATE TABLE "${schema}".handled (event_id uuid PRIMARY KEY, times integer NOT NULL)`,
    );
    const projection = new Projection<DomainEvent, SqlSession>({
      name: 'from-standby',
      eventStore: standby,
      readModel: new PostgresProjectionStore({ connection: primaryPool, schema }),
      handler: async (event, sql) => {
        await sql.query({
          text: `INSERT INTO "${schema}".handled (event_id, times) VALUES ($1, 1)
                 ON CONFLICT (event_id) DO UPDATE SET times = handled.times + 1`,
          values: [event.eventId],
        });
      },
      batchSize: 40,
      // No notifications from a standby: the projection polls it.
      pollIntervalMs: 10,
    });
    projection.start();
    const written = new Set<string>();
    let lastPosition = 0n;
    try {
      const writer = async (w: number) => {
        for (let i = 0; i < 60; i++) {
          const batch = [
            { type: 'Deposited', data: { amount: i }, eventId: randomUUID() },
            ...(i % 2 ? [{ type: 'Withdrawn', data: { amount: 1 }, eventId: randomUUID() }] : []),
          ];
          const appended = await primary.appendEvents(`p${w}-${i % 10}`, ExpectedVersion.Any, batch);
          for (const event of batch) written.add(event.eventId);
          if (appended.lastPosition > lastPosition) lastPosition = appended.lastPosition;
        }
      };
      await Promise.all(Array.from({ length: 6 }, (_, w) => writer(w)));
      await projection.waitForPosition(lastPosition);
      expect(projection.failure).toBeUndefined();
    } finally {
      await projection.stop();
    }
    // Read after the projection stopped: its read-model transactions on the primary hold the
    // primary's log back while they run, like any writer's.
    const log = await readAll(primary, 0n, 500);
    expect(new Set(log.map((e) => e.eventId))).toEqual(written);
    const { rows } = await primaryPool.query<{ event_id: string; times: number }>(
      `SELECT event_id, times FROM "${schema}".handled`,
    );
    expect(rows).toHaveLength(written.size);
    expect(new Set(rows.map((row) => row.event_id))).toEqual(written);
    expect(rows.filter((row) => row.times !== 1)).toEqual([]);
  }, 120_000);

  it('a consumer group of 4 partitions, two workers reading the standby: every event handled once', async () => {
    const { schema, primary, standby } = await freshStores();
    await primaryPool.query(
      `CREATE TABLE "${schema}".handled (event_id uuid PRIMARY KEY, times integer NOT NULL)`,
    );
    // Workers of one process share the lease, checkpoint and parked-event stores; the handler
    // writes to the primary. At-least-once delivery, and nothing here fails: each event once.
    const leases = new InMemoryPartitionLeaseStore();
    const checkpoints = new InMemoryCheckpointStore();
    const parked = new InMemoryParkedEventStore();
    const worker = (workerId: string) =>
      new ConsumerGroup({
        name: 'from-standby',
        partitions: 4,
        workerId,
        eventStore: standby,
        leases,
        checkpoints,
        parked,
        handler: async (event) => {
          await primaryPool.query(
            `INSERT INTO "${schema}".handled (event_id, times) VALUES ($1, 1)
             ON CONFLICT (event_id) DO UPDATE SET times = handled.times + 1`,
            [event.eventId],
          );
        },
        batchSize: 40,
        pollIntervalMs: 10,
        leaseTtlMs: 2_000,
      });
    const workers = [worker('a'), worker('b')];
    for (const group of workers) group.start();
    const written = new Set<string>();
    let lastPosition = 0n;
    try {
      // The second worker joined and the partitions were shared out before the events arrive.
      const deadline = Date.now() + 30_000;
      while (!workers.every((group) => group.ownedPartitions.length > 0)) {
        if (Date.now() > deadline) throw new Error('the workers did not share the partitions out');
        await sleep(20);
      }
      const writer = async (w: number) => {
        for (let i = 0; i < 60; i++) {
          const batch = [
            { type: 'Deposited', data: { amount: i }, eventId: randomUUID() },
            ...(i % 2 ? [{ type: 'Withdrawn', data: { amount: 1 }, eventId: randomUUID() }] : []),
          ];
          const appended = await primary.appendEvents(`g${w}-${i % 10}`, ExpectedVersion.Any, batch);
          for (const event of batch) written.add(event.eventId);
          if (appended.lastPosition > lastPosition) lastPosition = appended.lastPosition;
        }
      };
      await Promise.all(Array.from({ length: 6 }, (_, w) => writer(w)));
      await workers[0]!.waitForPosition(lastPosition);
      expect(workers.map((group) => group.failure)).toEqual([undefined, undefined]);
    } finally {
      await Promise.all(workers.map((group) => group.stop()));
    }
    const { rows } = await primaryPool.query<{ event_id: string; times: number }>(
      `SELECT event_id, times FROM "${schema}".handled`,
    );
    expect(rows).toHaveLength(written.size);
    expect(new Set(rows.map((row) => row.event_id))).toEqual(written);
    expect(rows.filter((row) => row.times !== 1)).toEqual([]);
    expect(await workers[0]!.listParked()).toEqual([]);
  }, 120_000);

  it('cannot LISTEN on the standby; a standby store with listenConnection on the primary wakes its follower', async () => {
    const { schema } = await freshStores();
    // Stores left with notifications on (the default), as an application might.
    const primary = new PostgresEventStore({ connection: primaryPool, schema });
    const standby = new PostgresEventStore({ connection: standbyPool, schema });
    stores.push(primary, standby);
    const refused = await standby
      .subscribeToAppends(() => undefined)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isEventStoreUnavailableError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/LISTEN.*\(SQLSTATE 25006\)/);

    const listening = new PostgresEventStore({
      connection: standbyPool,
      schema,
      listenConnection: pair.primary.url(DATABASE),
    });
    stores.push(listening);
    const handled: bigint[] = [];
    const projection = new Projection({
      name: 'woken-by-primary',
      // Reads from the standby, LISTEN on the primary: the option meant for this.
      eventStore: listening,
      handler: (event) => void handled.push(event.position),
      // Longer than the test: only a notification from the primary can wake it.
      pollIntervalMs: 600_000,
    });
    projection.start();
    try {
      await projection.waitForIdle();
      let last = 0n;
      for (let i = 0; i < 5; i++) {
        ({ lastPosition: last } = await primary.appendEvents(`n${i}`, ExpectedVersion.NoStream, [
          { type: 'Opened', data: {} },
        ]));
        await projection.waitForPosition(last);
      }
      expect(handled).toEqual((await readAll(primary)).map((e) => e.position));
    } finally {
      await projection.stop();
    }
  }, 60_000);

  it('refuses an append on the standby with a typed error and writes nothing', async () => {
    const { primary, standby } = await freshStores();
    await primary.appendEvents('existing', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]);
    await pair.waitForReplay();

    const attempts: [string, () => Promise<unknown>][] = [
      // The one-statement INSERT path.
      [
        'exact version',
        () => standby.appendEvents('new', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]),
      ],
      [
        'exact version, existing stream',
        () => standby.appendEvents('existing', 1, [{ type: 'Closed', data: {} }]),
      ],
      // The append function.
      ['any version', () => standby.appendEvents('new', ExpectedVersion.Any, [{ type: 'Opened', data: {} }])],
      [
        'stream exists, caller-chosen ids',
        () =>
          standby.appendEvents('existing', ExpectedVersion.StreamExists, [
            { type: 'Closed', data: {}, eventId: randomUUID() },
          ]),
      ],
    ];
    for (const [, attempt] of attempts) {
      const error = (await attempt().then(
        () => undefined,
        (e: unknown) => e,
      )) as EventSourcingError | undefined;
      expect(error).toBeDefined();
      expect(isEventSourcingError(error)).toBe(true);
      expect(isEventStoreUnavailableError(error)).toBe(true);
      // SQLSTATE 25006 (read_only_sql_transaction): "cannot execute INSERT in a read-only
      // transaction" on the one-statement path, "cannot execute pg_current_xact_id() during
      // recovery" in the append function.
      expect(error!.message).toMatch(
        /(read-only transaction|during recovery) \(SQLSTATE 25006\)\. The server accepts only reads.*primary/,
      );
    }
    await pair.waitForReplay();
    expect((await readAll(primary)).map((e) => e.streamId)).toEqual(['existing']);
    expect((await readAll(standby)).map((e) => e.streamId)).toEqual(['existing']);
    // The standby store still reads after the refusals.
    expect(await standby.getStreamVersion('existing')).toBe(1);
  }, 60_000);

  it('uses the primary’s era on the standby and never opens one there', async () => {
    const { schema, primary } = await freshStores();
    await primary.appendEvents('a', ExpectedVersion.NoStream, [{ type: 'Opened', data: {} }]);
    await pair.waitForReplay();
    const eras = `SELECT era, system_id, position_offset::text FROM "${schema}".events_eras ORDER BY era`;
    const before = (await primaryPool.query(eras)).rows;
    expect(before).toHaveLength(1);
    // Same system identifier: the era function returns the current era's offset, reading only.
    const offset = `SELECT "${schema}".events_era_offset()::text AS offset`;
    expect((await standbyPool.query(offset)).rows[0].offset).toBe(before[0].position_offset);
    expect((await standbyPool.query(eras)).rows).toEqual(before);
    await pair.waitForReplay();
    expect((await primaryPool.query(eras)).rows).toEqual(before);
  }, 60_000);

  it('on a table without an era yet, an append on the standby is refused before it can open one', async () => {
    const { schema, primary, standby } = await freshStores();
    // The era function would open this cluster's era here (an INSERT): the standby refuses it.
    await expect(
      standby.appendEvents('a', ExpectedVersion.Any, [{ type: 'Opened', data: {} }]),
    ).rejects.toThrow(/read-only transaction \(SQLSTATE 25006\)/);
    await expect(standbyPool.query(`SELECT "${schema}".events_era_offset()`)).rejects.toMatchObject({
      code: '25006',
    });
    await pair.waitForReplay();
    const count = `SELECT count(*)::int AS n FROM "${schema}".events_eras`;
    expect((await primaryPool.query(count)).rows[0].n).toBe(0);
    expect((await standbyPool.query(count)).rows[0].n).toBe(0);
    expect(await readAll(standby)).toEqual([]);
    // The primary's first append opens the era; the standby then reads through it.
    const { lastPosition } = await primary.appendEvents('a', ExpectedVersion.NoStream, [
      { type: 'Opened', data: {} },
    ]);
    await pair.waitForReplay();
    expect((await readAll(standby)).map((e) => e.position)).toEqual([lastPosition]);
  }, 60_000);
});
