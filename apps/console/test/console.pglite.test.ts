import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExpectedVersion } from '@es/core';
import { openEmbeddedPostgres, PostgresEventStore } from '@es/store-postgres';
import { seed } from './seed.js';
import { consoleSuite } from './suite.js';

// The console on a PGlite data folder, as the demo leaves it: the schema is found, not given, and
// the folder is opened per request, so the test appends by opening it in turn, as another process would.
consoleSuite('pglite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'es-console-test-'));
  const embedded = await openEmbeddedPostgres({ dataDir });
  let seeded: Awaited<ReturnType<typeof seed>>;
  try {
    seeded = await seed(embedded.db, 'shop');
  } finally {
    await embedded.close();
  }
  return {
    source: { kind: 'pglite', dataDir },
    schema: undefined,
    seeded,
    async append(streamId, type, data) {
      const other = await openEmbeddedPostgres({ dataDir, waitMs: 30_000 });
      const store = new PostgresEventStore({ connection: other.db, schema: 'shop' });
      try {
        return (await store.appendEvents(streamId, ExpectedVersion.Any, [{ type, data }])).lastPosition;
      } finally {
        await store.close();
        await other.close();
      }
    },
    // One process writes at a time: a committed event is in the log at once.
    isVisible: async () => true,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});
