import type { AppendSubscription } from '@es/core';
import type { ChangeStream, Collection } from 'mongodb';
import type { EventDocument } from './event-document.js';

/**
 * Calls `listener` soon after events are inserted into `events` by any process, through a change
 * stream (replica sets and sharded clusters have them; so does every server this store runs on).
 * The inserts of one append arrive together and wake the listener once; a listener that throws is
 * logged (console.error) and still called on later appends. Notifications are hints:
 * if the stream fails for good, followers still find every event on their next poll.
 */
export function watchAppends(
  events: Collection<EventDocument>,
  listener: () => void,
  onClose: (subscription: AppendSubscription) => void,
): AppendSubscription {
  const stream: ChangeStream = events.watch([
    { $match: { operationType: 'insert' } },
    { $project: { _id: 1 } },
  ]);
  let scheduled = false;
  stream.on('change', () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      // A subscriber's bug must not crash the process: the append has committed already.
      try {
        listener();
      } catch (error) {
        console.error('[@es/store-mongo] an append subscriber threw:', error);
      }
    });
  });
  // Resumable errors are retried by the driver; others end the stream, and polling takes over.
  stream.on('error', () => undefined);
  const subscription: AppendSubscription = {
    close: async () => {
      onClose(subscription);
      await stream.close();
    },
  };
  return subscription;
}
