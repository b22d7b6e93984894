import { openStorage } from '@es-samples/storage';
import { describe, expect, it } from '@jest/globals';
import { accountEvents } from '../src/domain/account-events.js';

const open = (env: Record<string, string>) =>
  openStorage({ registry: accountEvents, schema: 'bank', dataDir: '/nonexistent', env });

// PGlite and the PostgreSQL server are exercised end to end in demo.test.ts and demo.int.test.ts.
describe('openStorage', () => {
  it('opens the in-memory store with ES_STORE=memory', async () => {
    const storage = await open({ ES_STORE: 'memory' });
    expect(storage.kind).toBe('memory');
    await storage.close();
  });

  it('wires the MongoDB stores for MONGO_URL without connecting until first use, hiding the password', async () => {
    const storage = await open({ MONGO_URL: 'mongodb://app:secret@127.0.0.1:1/?replicaSet=rs0' });
    expect(storage.kind).toBe('mongodb');
    expect(storage.description).toBe(
      'MongoDB at mongodb://app:***@127.0.0.1:1/?replicaSet=rs0, database "bank"',
    );
    expect(storage.eventStore.capabilities.globalOrdering).toBe(true);
    await storage.close();
  });

  it('refuses an unknown store and a lock wait that is not a number with StorageChoiceError', async () => {
    await expect(open({ ES_STORE: 'oracle' })).rejects.toMatchObject({ code: 'SAMPLE_STORAGE_CHOICE' });
    await expect(open({ ES_LOCK_WAIT_MS: 'soon' })).rejects.toMatchObject({
      code: 'SAMPLE_STORAGE_CHOICE',
      message: 'ES_LOCK_WAIT_MS="soon" is not a number of milliseconds.',
    });
  });

  it('reports an unreachable PostgreSQL server as a typed error', async () => {
    await expect(open({ DATABASE_URL: 'postgres://app:secret@127.0.0.1:1/none' })).rejects.toMatchObject({
      code: 'ES_EVENT_STORE_UNAVAILABLE',
    });
  });
});
