import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Collection } from 'mongodb';
import { watchAppends } from './append-notifications.js';
import type { EventDocument } from './event-document.js';

// A change stream stand-in: an emitter the test fires 'change' on, as the driver's ChangeStream does.
function fakeCollection() {
  const stream = Object.assign(new EventEmitter(), { close: jest.fn(async () => undefined) });
  const watch = jest.fn(() => stream);
  return { stream, events: { watch } as unknown as Collection<EventDocument> };
}

const OPTIONS = { startAt: async () => undefined, onError: () => undefined };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('watchAppends', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('coalesces the inserts of one append into one wake-up', async () => {
    const { stream, events } = fakeCollection();
    const listener = jest.fn();
    await watchAppends(events, listener, () => undefined, OPTIONS);
    stream.emit('change', {});
    stream.emit('change', {});
    await nextTurn();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('survives a throwing subscriber: logs it, keeps notifying, the process does not crash', async () => {
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const { stream, events } = fakeCollection();
      let calls = 0;
      const bug = new Error('subscriber bug');
      await watchAppends(
        events,
        () => {
          calls++;
          throw bug;
        },
        () => undefined,
        OPTIONS,
      );
      stream.emit('change', {});
      await nextTurn();
      stream.emit('change', {});
      await nextTurn();
      expect(calls).toBe(2);
      expect(uncaught).toEqual([]);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('subscriber'), bug);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
