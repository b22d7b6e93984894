import {
  EventRegistry,
  EventValidationError,
  ExpectedVersion,
  type StandardSchemaV1,
  typed,
  UnknownEventTypeError,
} from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { awaitVisible, type EventStoreContractConfig, newStreamId, readAll, storeOpener } from './context.js';

// A minimal Standard Schema, as zod or valibot would provide: a positive integer amount.
const amountSchema: StandardSchemaV1<unknown, { amount: number }> = {
  '~standard': {
    version: 1,
    vendor: 'contract',
    validate: (value) => {
      const amount = (value as { amount?: unknown })?.amount;
      return Number.isInteger(amount) && (amount as number) > 0
        ? { value: { amount: amount as number } }
        : { issues: [{ message: 'must be a positive integer', path: ['amount'] }] };
    },
  },
};

const v1 = new EventRegistry()
  .register('Opened', typed<{ owner: string }>())
  .register('Deposited', typed<{ cents: number }>());
const v2 = new EventRegistry().register('Opened', typed<{ owner: string }>()).register('Deposited', {
  schema: amountSchema,
  upcasters: [(old) => ({ amount: (old as { cents: number }).cents / 100 })],
});

export function registryContract(config: EventStoreContractConfig): void {
  const open = storeOpener(config);

  describe('with an EventRegistry', () => {
    it('refuses an unknown event type with UnknownEventTypeError, writing nothing', async () => {
      const store = await open({ registry: v2 });
      const streamId = newStreamId();
      await expect(
        store.appendEvents(streamId, ExpectedVersion.Any, [
          { type: 'Opened', data: { owner: 'A' } },
          { type: 'Teleported', data: {} },
        ]),
      ).rejects.toBeInstanceOf(UnknownEventTypeError);
      expect(await readAll(store)).toEqual([]);
    });

    it('refuses data its schema rejects with EventValidationError naming the field', async () => {
      const store = await open({ registry: v2 });
      const error = await store
        .appendEvents(newStreamId(), ExpectedVersion.Any, [{ type: 'Deposited', data: { amount: -5 } }])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as Error).message).toContain('amount: must be a positive integer');
      expect(await readAll(store)).toEqual([]);
    });

    it('writes new events at the current schema version', async () => {
      const store = await open({ registry: v2 });
      const streamId = newStreamId();
      await store.appendEvents(streamId, ExpectedVersion.NoStream, [
        { type: 'Deposited', data: { amount: 3 } },
      ]);
      const [event] = await store.getEvents(streamId);
      expect(event).toMatchObject({ schemaVersion: 2, data: { amount: 3 } });
    });

    const sharing = config.limitations?.sharedStorage;
    const title = 'upcasts events written by older code on every read path';
    if (sharing) it.skip(`${title} (not run for this adapter: ${sharing})`, () => undefined);
    else
      it(title, async () => {
        const oldCode = await open({ registry: v1 });
        const streamId = newStreamId();
        await oldCode.appendEvents(streamId, ExpectedVersion.NoStream, [
          { type: 'Opened', data: { owner: 'A' } },
          { type: 'Deposited', data: { cents: 300 } },
        ]);
        const newCode = await open({ registry: v2, sameStorageAs: oldCode });
        const expected = { type: 'Deposited', schemaVersion: 2, data: { amount: 3 } };
        await awaitVisible(newCode);
        const [, fromStream] = await newCode.getEvents(streamId);
        expect(fromStream).toMatchObject(expected);
        expect((await newCode.getEventsByType('Deposited'))[0]).toMatchObject(expected);
        expect((await readAll(newCode))[1]).toMatchObject(expected);
      });
  });
}
