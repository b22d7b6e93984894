import { type AppendSubscription, EventStoreUnavailableError } from '@es/core';
import type { ChangeStream, Collection, Timestamp } from 'mongodb';
import type { EventDocument } from './event-document.js';

/** How {@link watchAppends} starts, reports and reopens its change stream. */
export interface WatchOptions {
  /**
   * An operation time taken now, from which the stream starts (so no write after it is missed,
   * however late the driver sends the stream's first command); `undefined` starts it when opened.
   */
  readonly startAt: () => Promise<Timestamp | undefined>;
  /** Told when the stream died or could not be reopened; it is reopened after a wait. */
  readonly onError: (error: Error) => void;
  /** The first wait before reopening a dead stream, doubled on each failure up to 30 s. */
  readonly reopenDelayMs?: number;
}

const PIPELINE = [{ $match: { operationType: 'insert' } }, { $project: { _id: 1 } }];
const MAX_REOPEN_DELAY_MS = 30_000;

/**
 * Calls `listener` soon after events are inserted into `events` by any process, through a change
 * stream (replica sets and sharded clusters have them; so does every server this store runs on).
 * Resolves once the stream's start time is fixed: an append that commits after that wakes the
 * listener. The inserts of one append arrive together and wake the listener once; a listener that
 * throws is logged (console.error) and still called on later appends. Resumable stream errors are
 * resumed by the driver; a stream that fails for good (or is closed by the server, e.g. when the
 * collection is dropped) is reported to `onError` and reopened after a wait, and the listener is
 * woken once when it is back, since appends made meanwhile woke no one.
 */
export async function watchAppends(
  events: Collection<EventDocument>,
  listener: () => void,
  onClose: (subscription: AppendSubscription) => void,
  options: WatchOptions,
): Promise<AppendSubscription> {
  let closed = false;
  let stream: ChangeStream | undefined;
  let reopenTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let scheduled = false;
  const firstDelay = options.reopenDelayMs ?? 200;

  const wake = () => {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (closed) return;
      // A subscriber's bug must not crash the process: the append has committed already.
      try {
        listener();
      } catch (error) {
        console.error('[@es/store-mongo] an append subscriber threw:', error);
      }
    });
  };

  const open = async () => {
    const startAtOperationTime = await options.startAt();
    if (closed) return;
    const opened: ChangeStream = events.watch(PIPELINE, startAtOperationTime ? { startAtOperationTime } : {});
    stream = opened;
    opened.on('change', () => {
      failures = 0;
      wake();
    });
    opened.on('error', (error: Error) => died(opened, error));
    opened.on('close', () => died(opened, undefined));
  };

  const reopenLater = (cause: Error | undefined, what: string) => {
    const delay = Math.min(MAX_REOPEN_DELAY_MS, firstDelay * 2 ** Math.min(failures, 16));
    failures++;
    options.onError(
      new EventStoreUnavailableError(
        `The change stream that wakes append subscribers of "${events.collectionName}" ${what}` +
          `${cause ? `: ${cause.message.replace(/\.$/, '')}` : ''}. It is reopened in ${delay} ms; ` +
          'followers still find every event by polling meanwhile.',
        cause === undefined ? undefined : { cause },
      ),
    );
    reopenTimer = setTimeout(() => {
      reopenTimer = undefined;
      open().then(
        () => wake(), // catch up: appends made while the stream was down woke no one
        (error: unknown) => {
          if (!closed)
            reopenLater(error instanceof Error ? error : new Error(String(error)), 'could not be reopened');
        },
      );
    }, delay);
    reopenTimer.unref?.();
  };

  // The driver resumes resumable errors itself; what reaches here ended the stream.
  const died = (which: ChangeStream, error: Error | undefined) => {
    if (closed || which !== stream) return;
    stream = undefined;
    which.close().catch(() => undefined);
    reopenLater(error, error ? 'failed' : 'was closed by the server');
  };

  await open();
  const subscription: AppendSubscription = {
    close: async () => {
      if (closed) return;
      closed = true;
      onClose(subscription);
      if (reopenTimer) clearTimeout(reopenTimer);
      const current = stream;
      stream = undefined;
      await current?.close();
    },
  };
  return subscription;
}
