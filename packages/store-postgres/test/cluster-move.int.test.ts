// Invariant: the global log survives moving the database to another cluster (docs/global-log.md,
// "Moving a database to another cluster"). Each test starts its own clusters with initdb and pg_ctl
// on free ports in temporary directories, moves a database the way operators do, and checks what a
// user relies on: every old event readable in the same order, every new event after every old one,
// and a follower resuming from a checkpoint taken before the move without skipping or repeating.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { migrate } from '../src/schema/migrate.js';
import { expectLogContinues, SCHEMA, writeHistory } from './log-continuity.js';
import {
  findPostgresBinaries,
  runPostgresBinary,
  type ScratchCluster,
  scratchDirectory,
  startScratchCluster,
} from './scratch-cluster.js';

const DATABASE = 'app';
const bin = findPostgresBinaries();

function describeWithBinaries(title: string, body: (bin: string) => void): void {
  if (bin) {
    describe(title, () => body(bin));
    return;
  }
  const required = (process.env.ES_REQUIRE_SERVICES ?? '').split(',').includes('PG_BIN');
  if (required) {
    describe(title, () => {
      it('needs the PostgreSQL server binaries (initdb, pg_ctl), which ES_REQUIRE_SERVICES marks as required', () => {
        throw new Error('No PostgreSQL binaries under /usr/lib/postgresql/*/bin or ES_PG_BIN.');
      });
    });
    return;
  }
  const reason = `${title}: skipped because initdb and pg_ctl were not found (install the postgresql package or set ES_PG_BIN).`;
  process.stderr.write(`${reason}\n`);
  describe.skip(reason, () => body(''));
}

/** Uses up transaction ids, so that the source cluster's ids are far ahead of a fresh one's. */
async function burnTransactionIds(cluster: ScratchCluster, count: number): Promise<void> {
  await cluster.psql(
    `DO $$ BEGIN FOR i IN 1..${count} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$`,
    DATABASE,
  );
}

/** The eras of the target: exactly one belongs to the cluster it runs on, and it is the newest. */
async function expectOneEraOfThisCluster(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ era: number; mine: boolean }>(
      `SELECT era, system_id = (SELECT system_identifier::text FROM pg_control_system()) AS mine
       FROM ${SCHEMA}.events_eras ORDER BY era`,
    );
    expect(rows.filter((row) => row.mine)).toHaveLength(1);
    expect(rows[rows.length - 1]!.mine).toBe(true);
  } finally {
    await client.end();
  }
}

describeWithBinaries('the global log after moving the database to another cluster', (bin) => {
  describe('pg_dump, then pg_restore into a freshly initialised cluster', () => {
    let source: ScratchCluster;
    let target: ScratchCluster;

    beforeAll(async () => {
      [source, target] = await Promise.all([startScratchCluster(bin), startScratchCluster(bin)]);
      await source.psql(`CREATE DATABASE ${DATABASE}`);
      await target.psql(`CREATE DATABASE ${DATABASE}`);
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled([source?.destroy(), target?.destroy()]);
    });

    it('keeps every event in order, appends after them, and resumes a follower', async () => {
      await burnTransactionIds(source, 3000);
      const { before, checkpoint } = await writeHistory(source.url(DATABASE));

      const directory = scratchDirectory('es-dump');
      const dump = join(directory, 'app.dump');
      await runPostgresBinary(bin, 'pg_dump', ['-Fc', '-f', dump, '-d', source.url(DATABASE)]);
      await runPostgresBinary(bin, 'pg_restore', ['--exit-on-error', '-d', target.url(DATABASE), dump]);

      // The situation that used to break: the new cluster's transaction ids are far below the old.
      const xid = Number(await target.psql('SELECT pg_current_xact_id()', DATABASE));
      expect(BigInt(xid) << 16n).toBeLessThan(before[0]!.position);

      // Applications usually run migrate() at start: after a restore it finds nothing to do.
      expect((await migrate({ connection: target.url(DATABASE), schema: SCHEMA })).applied).toEqual([]);
      // The application appends as a role that may only read and append: opening the new era
      // needs no more than that.
      await target.psql(
        `CREATE ROLE writer LOGIN; GRANT USAGE ON SCHEMA ${SCHEMA} TO writer;
         GRANT SELECT, INSERT ON ${SCHEMA}.events TO writer; GRANT SELECT ON ${SCHEMA}.events_eras TO writer`,
        DATABASE,
      );
      await expectLogContinues(target.url(DATABASE).replace('postgres@', 'writer@'), before, checkpoint);
      await expectOneEraOfThisCluster(target.url(DATABASE));
    }, 120_000);
  });

  describe('pg_upgrade into a new cluster', () => {
    let source: ScratchCluster;
    let target: ScratchCluster;

    beforeAll(async () => {
      [source, target] = await Promise.all([
        startScratchCluster(bin),
        startScratchCluster(bin, { start: false }),
      ]);
      await source.psql(`CREATE DATABASE ${DATABASE}`);
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled([source?.destroy(), target?.destroy()]);
    });

    it('keeps every event in order, appends after them, and resumes a follower', async () => {
      await burnTransactionIds(source, 1000);
      const { before, checkpoint } = await writeHistory(source.url(DATABASE));
      await source.stop();
      const work = scratchDirectory('es-upgrade');
      await runPostgresBinary(
        bin,
        'pg_upgrade',
        [
          '-b',
          bin,
          '-B',
          bin,
          '-d',
          source.dataDirectory,
          '-D',
          target.dataDirectory,
          '-p',
          String(source.port),
          '-P',
          String(target.port),
          '-U',
          'postgres',
        ],
        work,
      );
      await target.start();
      await expectLogContinues(target.url(DATABASE), before, checkpoint);
      await expectOneEraOfThisCluster(target.url(DATABASE));
    }, 180_000);
  });

  describe('a logical replica, promoted', () => {
    let primary: ScratchCluster;
    let replica: ScratchCluster;

    beforeAll(async () => {
      [primary, replica] = await Promise.all([
        startScratchCluster(bin, { walLevel: 'logical' }),
        startScratchCluster(bin),
      ]);
      await primary.psql(`CREATE DATABASE ${DATABASE}`);
      await replica.psql(`CREATE DATABASE ${DATABASE}`);
    }, 120_000);

    afterAll(async () => {
      await replica?.psql('DROP SUBSCRIPTION IF EXISTS es_move', DATABASE).catch(() => undefined);
      await Promise.allSettled([replica?.destroy(), primary?.destroy()]);
    });

    it('keeps every event in order, appends after them, and resumes a follower', async () => {
      await burnTransactionIds(primary, 3000);
      // The replica's schema comes from the primary's, as PostgreSQL's documentation advises.
      await migrate({ connection: primary.url(DATABASE), schema: SCHEMA });
      const directory = scratchDirectory('es-logical');
      const schemaFile = join(directory, 'schema.sql');
      await runPostgresBinary(bin, 'pg_dump', [
        '--schema-only',
        '-f',
        schemaFile,
        '-d',
        primary.url(DATABASE),
      ]);
      await runPostgresBinary(bin, 'psql', [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-d',
        replica.url(DATABASE),
        '-f',
        schemaFile,
      ]);
      await primary.psql(`CREATE PUBLICATION es_move FOR TABLES IN SCHEMA ${SCHEMA}`, DATABASE);
      await replica.psql(
        `CREATE SUBSCRIPTION es_move CONNECTION 'host=127.0.0.1 port=${primary.port} dbname=${DATABASE} user=postgres' PUBLICATION es_move`,
        DATABASE,
      );

      const { before, checkpoint } = await writeHistory(primary.url(DATABASE));
      const deadline = Date.now() + 60_000;
      while (Number(await replica.psql(`SELECT count(*) FROM ${SCHEMA}.events`, DATABASE)) < before.length) {
        if (Date.now() > deadline) throw new Error('the replica did not catch up within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      // Cut-over: writes stop on the primary, the subscription is removed, the replica takes writes.
      await replica.psql('ALTER SUBSCRIPTION es_move DISABLE', DATABASE);
      await replica.psql('ALTER SUBSCRIPTION es_move SET (slot_name = NONE)', DATABASE);
      await replica.psql('DROP SUBSCRIPTION es_move', DATABASE);
      await primary.psql("SELECT pg_drop_replication_slot('es_move')", DATABASE);

      await expectLogContinues(replica.url(DATABASE), before, checkpoint);
      await expectOneEraOfThisCluster(replica.url(DATABASE));
    }, 180_000);
  });
});
