import { afterEach, describe, expect, it } from '@jest/globals';
import { type Document, Long } from 'mongodb';
import { MongoCheckpointStore } from '../src/projections/mongo-checkpoint-store.js';
import { MongoSnapshotStore } from '../src/snapshots/mongo-snapshot-store.js';
import { type FakeMongoServer, startFakeMongoServer } from './fake-mongo-server.js';

// The real driver against the scripted wire stand-in (NOT a MongoDB): the conditional writes the
// snapshot and checkpoint stores send, and how they read duplicate-key replies.

const duplicate: Document = {
  ok: 1,
  n: 0,
  writeErrors: [
    { index: 0, code: 11000, errmsg: 'E11000 duplicate key error index: _id_ dup key: { _id: "s" }' },
  ],
};

describe('snapshot and checkpoint stores on the wire (scripted fake server, not MongoDB)', () => {
  let fake: FakeMongoServer | undefined;
  const closing: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const store of closing.splice(0)) await store.close();
    await fake?.close();
  });

  it('a snapshot save is one conditional replace; after a duplicate key it retries without upsert', async () => {
    fake = await startFakeMongoServer({ replicaSet: false });
    const store = new MongoSnapshotStore({ connection: fake.uri });
    closing.push(store);
    let updates = 0;
    fake.respond = ({ name }) => (name === 'update' && updates++ === 0 ? duplicate : undefined);
    await store.save({
      streamId: 's',
      aggregateVersion: 7,
      snapshotVersion: 1,
      state: { a: 1 },
      createdAt: new Date(0),
    });
    const sent = fake
      .operations()
      .flatMap((op) => (op.name === 'update' ? (op.body.updates as Document[]) : []));
    expect(sent).toHaveLength(2);
    for (const update of sent) {
      expect(update.q._id).toEqual({ $eq: 's' });
      expect(update.q.aggregateVersion.$lte.value).toBe(7);
      expect(update.u.state).toBe('{"a":1}');
    }
    expect(sent[0]!.upsert).toBe(true);
    expect(sent[1]!.upsert).toBeFalsy();
  });

  it('saveIf without a checkpoint inserts, and a duplicate key means another instance won', async () => {
    fake = await startFakeMongoServer({ replicaSet: false });
    const store = new MongoCheckpointStore({ connection: fake.uri });
    closing.push(store);
    fake.respond = ({ name }) => (name === 'insert' ? duplicate : undefined);
    expect(await store.saveIf('p', undefined, 5n)).toBe(false);
    fake.respond = ({ name }) => (name === 'update' ? { ok: 1, n: 1, nModified: 1 } : undefined);
    expect(await store.saveIf('p', 5n, 9n)).toBe(true);
    const update = fake.operations().find((op) => op.name === 'update')!.body.updates[0] as Document;
    expect(update.q).toEqual({ _id: { $eq: 'p' }, position: { $eq: Long.fromNumber(5) } });
    expect(update.u.$set.position).toEqual(Long.fromNumber(9));
    fake.respond = ({ name }) => (name === 'update' ? { ok: 1, n: 0, nModified: 0 } : undefined);
    expect(await store.saveIf('p', 5n, 9n)).toBe(false);
  });
});
