import { describe, expect, it } from '@jest/globals';
import { isStoreClosedError } from './errors.js';
import { InMemoryEventStore } from './in-memory-event-store.js';

async function failure(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
      for await (const _ of result as AsyncIterable<unknown>) break;
    } else {
      await result;
    }
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail after close()');
}

describe('InMemoryEventStore after close()', () => {
  it('every method fails with StoreClosedError; a second close() does nothing; a store sharing its storage is unaffected', async () => {
    const store = new InMemoryEventStore();
    await store.appendEvents('s', 'no_stream', [{ type: 'Opened', data: {} }]);
    const other = new InMemoryEventStore({ storage: store.storage });
    await store.close();
    await store.close();
    const calls: Record<string, () => unknown> = {
      appendEvents: () => store.appendEvents('s', 1, [{ type: 'Opened', data: {} }]),
      getEvents: () => store.getEvents('s'),
      getEventsByType: () => store.getEventsByType('Opened'),
      getAllEvents: () => store.getAllEvents(),
      getStreamVersion: () => store.getStreamVersion('s'),
      streamExists: () => store.streamExists('s'),
      subscribeToAppends: () => store.subscribeToAppends(() => undefined),
    };
    for (const [method, call] of Object.entries(calls)) {
      const error = await failure(call);
      expect({ method, closed: isStoreClosedError(error) }).toEqual({ method, closed: true });
    }
    expect(await other.getStreamVersion('s')).toBe(1);
  });
});
