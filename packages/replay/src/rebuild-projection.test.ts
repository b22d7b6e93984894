import { ExpectedVersion, InMemoryCheckpointStore, InMemoryEventStore } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { Projection, rebuildProjection } from './index.js';
import { type AccountEvent, BalanceReadModel, deposited, seed } from './testing/test-helpers.js';

describe('rebuildProjection', () => {
  it('replays into a fresh read model while the old one serves, then switches and stops the old one', async () => {
    const store = new InMemoryEventStore();
    const ids = await seed(store, 5, 8);
    const checkpoints = new InMemoryCheckpointStore();
    const models = { v1: new BalanceReadModel(), v2: new BalanceReadModel() };
    let serving: keyof typeof models = 'v1';
    const readBalance = (id: string) => models[serving].balances.get(id)?.balance;

    const v1 = new Projection<AccountEvent>({
      name: 'balances-v1',
      eventStore: store,
      checkpoints,
      handler: (event) => models.v1.apply(event),
    });
    v1.start();
    await v1.waitForPosition(40n);
    const expected = readBalance(ids[0]!);
    expect(expected).toBe(28);

    const servedDuringRebuild: (number | undefined)[] = [];
    const v2 = await rebuildProjection<AccountEvent, void>({
      current: v1,
      next: {
        name: 'balances-v2',
        eventStore: store,
        checkpoints,
        batchSize: 7,
        handler: async (event) => {
          servedDuringRebuild.push(readBalance(ids[0]!));
          models.v2.apply(event);
        },
      },
      switchOver: async () => {
        serving = 'v2';
      },
    });
    expect(servedDuringRebuild.every((balance) => balance === expected)).toBe(true);
    expect(serving).toBe('v2');
    expect(models.v2.snapshot()).toEqual(models.v1.snapshot());
    expect(v1.active).toBe(false);

    // The new projection is live; the old one no longer moves.
    const { lastPosition } = await store.appendEvents(ids[0]!, 8, [deposited(100)]);
    await v2.waitForPosition(lastPosition);
    expect(readBalance(ids[0]!)).toBe(128);
    expect(models.v1.balances.get(ids[0]!)?.balance).toBe(28);
    expect(await checkpoints.load('balances-v1')).toBe(40n);
    await v2.stop();
  });

  it('starts the new read model from scratch even when its checkpoint already exists', async () => {
    const store = new InMemoryEventStore();
    await store.appendEvents('a', ExpectedVersion.NoStream, [deposited(1), deposited(2)]);
    const checkpoints = new InMemoryCheckpointStore();
    await checkpoints.save('again', 2n);
    const seen: bigint[] = [];
    const next = await rebuildProjection({
      next: { name: 'again', eventStore: store, checkpoints, handler: (e) => void seen.push(e.position) },
      switchOver: async () => {},
    });
    await next.stop();
    expect(seen).toEqual([1n, 2n]);
  });
});
