import { isEventStoreUnavailableError, isInvalidArgumentError } from '@es/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MongoCheckpointStore } from '../src/projections/mongo-checkpoint-store.js';
import { MongoSnapshotStore } from '../src/snapshots/mongo-snapshot-store.js';

// No server here: what the snapshot and checkpoint stores refuse before any request, and how an
// unreachable server is reported.
const UNREACHABLE = 'mongodb://127.0.0.1:9/es?serverSelectionTimeoutMS=300&connectTimeoutMS=300';

describe('MongoSnapshotStore and MongoCheckpointStore without a server', () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('refuse bad collection names', () => {
    expect(
      () => new MongoSnapshotStore({ connection: UNREACHABLE, collection: 'system.snapshots' }),
    ).toThrow();
    expect(() => new MongoCheckpointStore({ connection: UNREACHABLE, collection: 'a$b' })).toThrow();
  });

  it('refuse non-string ids and bad positions before any request', async () => {
    const snapshots = new MongoSnapshotStore({ connection: UNREACHABLE });
    const checkpoints = new MongoCheckpointStore({ connection: UNREACHABLE });
    opened.push(snapshots, checkpoints);
    const hostile = { $ne: null } as unknown as string;
    const refusals = [
      snapshots.load(hostile),
      snapshots.delete(hostile),
      checkpoints.load(hostile),
      checkpoints.save('p', 5 as unknown as bigint),
      checkpoints.save('p', -1n),
      checkpoints.saveIf('p', -2n, 1n),
      checkpoints.reset(''),
    ].map((promise) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    for (const error of await Promise.all(refusals)) expect(isInvalidArgumentError(error)).toBe(true);
  });

  it('report an unreachable server as EventStoreUnavailableError', async () => {
    const snapshots = new MongoSnapshotStore({ connection: UNREACHABLE });
    const checkpoints = new MongoCheckpointStore({ connection: UNREACHABLE });
    opened.push(snapshots, checkpoints);
    const errors = await Promise.all([
      snapshots.load('s').catch((e: unknown) => e),
      checkpoints.load('p').catch((e: unknown) => e),
    ]);
    for (const error of errors) expect(isEventStoreUnavailableError(error)).toBe(true);
  });
});
