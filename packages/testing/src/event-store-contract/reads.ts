import { ExpectedVersion } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import {
  awaitVisible,
  deposited,
  type EventStoreContractConfig,
  newStreamId,
  opened,
  storeOpener,
  type TestEvent,
  versionsOf,
  withdrawn,
} from './context.js';

export function readsContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);

  describe('getEvents', () => {
    it('returns the events after fromVersion, bounded by toVersion and limit', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        opened(),
        ...[1, 2, 3, 4, 5].map(deposited),
      ]);
      expect(versionsOf(await store.getEvents(streamId))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(versionsOf(await store.getEvents(streamId, 0))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(versionsOf(await store.getEvents(streamId, 4))).toEqual([5, 6]);
      expect(versionsOf(await store.getEvents(streamId, 6))).toEqual([]);
      expect(versionsOf(await store.getEvents(streamId, 1, { toVersion: 3 }))).toEqual([2, 3]);
      expect(versionsOf(await store.getEvents(streamId, 1, { limit: 2 }))).toEqual([2, 3]);
    });

    it('returns [] for a stream that does not exist', async () => {
      const store = await open();
      expect(await store.getEvents(newStreamId())).toEqual([]);
    });

    it('narrows data by type for the event union the caller names', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents<TestEvent>(streamId, ExpectedVersion.NoStream, [
        opened(),
        deposited(4),
        withdrawn(1),
      ]);
      let balance = 0;
      for (const event of await store.getEvents<TestEvent>(streamId)) {
        if (event.type === 'Deposited') balance += event.data.amount;
        if (event.type === 'Withdrawn') balance -= event.data.amount;
      }
      expect(balance).toBe(3);
    });
  });

  describe('getStreamVersion and streamExists', () => {
    it('report 0 / false for a missing stream and the last version for an existing one', async () => {
      const store = await open();
      const streamId = newStreamId();
      expect(await store.getStreamVersion(streamId)).toBe(0);
      expect(await store.streamExists(streamId)).toBe(false);
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [opened(), deposited(1)]);
      expect(await store.getStreamVersion(streamId)).toBe(2);
      expect(await store.streamExists(streamId)).toBe(true);
    });
  });

  describe('getEventsByType', () => {
    it('returns events of one or several types across streams, in global order', async () => {
      const store = await open();
      const a = newStreamId('a');
      const b = newStreamId('b');
      await store.appendEvents(a, ExpectedVersion.NoStream, [opened('A'), deposited(1)]);
      await store.appendEvents(b, ExpectedVersion.NoStream, [opened('B'), withdrawn(2)]);
      await store.appendEvents(a, 2, [deposited(3)]);

      await awaitVisible(store);
      const deposits = await store.getEventsByType<TestEvent>('Deposited');
      expect(deposits.map((e) => [e.streamId, e.data])).toEqual([
        [a, { amount: 1 }],
        [a, { amount: 3 }],
      ]);
      const moves = await store.getEventsByType(['Deposited', 'Withdrawn']);
      expect(moves.map((e) => e.type)).toEqual(['Deposited', 'Withdrawn', 'Deposited']);
      const positions = moves.map((e) => e.position);
      expect([...positions].sort((x, y) => (x < y ? -1 : 1))).toEqual(positions);
    });

    it('filters by commit timestamp, position and limit', async () => {
      const store = await open();
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        opened(),
        deposited(1),
        deposited(2),
        deposited(3),
      ]);
      await awaitVisible(store);
      const all = await store.getEventsByType('Deposited');
      expect(all).toHaveLength(3);
      expect(await store.getEventsByType('Deposited', new Date(Date.now() + 3_600_000))).toEqual([]);
      expect(await store.getEventsByType('Deposited', new Date(0))).toHaveLength(3);
      expect((await store.getEventsByType('Deposited', all[0]!.timestamp)).length).toBe(3);
      const afterFirst = await store.getEventsByType('Deposited', undefined, {
        afterPosition: all[0]!.position,
      });
      expect(afterFirst.map((e) => e.data)).toEqual([{ amount: 2 }, { amount: 3 }]);
      expect(await store.getEventsByType('Deposited', undefined, { limit: 1 })).toHaveLength(1);
      expect(await store.getEventsByType('NeverWritten')).toEqual([]);
    });
  });
}
