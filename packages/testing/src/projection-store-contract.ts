import { randomUUID } from 'node:crypto';
import {
  isLeaseLostError,
  type PartitionLeaseStore,
  type ProjectionBatch,
  type ProjectionStore,
} from '@es/core';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { parkedEventAt } from './parked-event-store-contract.js';

/**
 * How the contract sees a handler's writes to the read model, through the batch's context (e.g. a
 * row inserted in the transaction). `marker` is a fresh unique string per write.
 */
export interface ProjectionStoreWrites<TContext> {
  /** Writes `marker` to the read model through `context`. */
  readonly write: (context: TContext, marker: string) => Promise<void>;
  /** Whether `marker` is in the read model now (committed). */
  readonly has: (store: ProjectionStore<TContext>, marker: string) => Promise<boolean>;
}

/** Configures `describeProjectionStoreContract`. */
export interface ProjectionStoreContractConfig<TContext = void> {
  /** Shown in the suite's title, e.g. "PostgresProjectionStore". */
  readonly name: string;
  /** Returns a store no other test writes to. Called once or more per test. */
  readonly create: () => Promise<ProjectionStore<TContext>>;
  /** Releases what `create` made (drop a schema, close a pool). Defaults to doing nothing. */
  readonly cleanup?: (store: ProjectionStore<TContext>) => Promise<void>;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
  /**
   * Lets the contract check that the handler's writes are committed with the batch and undone with
   * a failed attempt or batch. Without it those tests show as skipped.
   */
  readonly writes?: ProjectionStoreWrites<TContext>;
  /** Behaviours the store does not offer, each with the reason shown on the skipped tests. */
  readonly limitations?: ProjectionStoreContractLimitations;
  /**
   * The lease store whose fences `store` checks (same database), so the contract can check that a
   * batch with a lapsed or taken-over lease is refused. Without it those tests show as skipped.
   */
  readonly leases?: (store: ProjectionStore<TContext>) => Promise<PartitionLeaseStore>;
}

/**
 * What a `ProjectionStore` may leave out, each declared with a reason. A test of a behaviour the
 * store does not declare as missing runs, and fails when the store lacks it.
 */
export interface ProjectionStoreContractLimitations {
  /**
   * The checkpoint is not compare-and-set: `commitBatch` moves it whatever it was (e.g.
   * `checkpointProjectionStore` over a `CheckpointStore` without `saveIf`).
   */
  readonly compareAndSet?: string;
  /**
   * A batch is not one transaction: what a failed or refused batch parked or wrote stays (e.g.
   * `checkpointProjectionStore`, at-least-once).
   */
  readonly transactional?: string;
  /**
   * A failed attempt is undone by re-running the batch's earlier attempts in a new transaction
   * (a database without savepoints, e.g. MongoDB), so a handler may run more than once per batch.
   */
  readonly savepoints?: string;
  /**
   * The store keeps no retry requests (`requestRetry`, `listRetryRequests`, `recordRetryFailure`
   * of `ParkedRetryRequests`): parked events are retried only in code.
   */
  readonly retryRequests?: string;
}

const noWork = async () => undefined;

/**
 * The behaviour every `ProjectionStore` must show, as one jest suite: `load` / `commitBatch` /
 * `reset` per subscription, `commitBatch` moving the checkpoint only from the expected one (true or
 * false, exactly one winner among concurrent batches), a batch's `attempt` running the handler with
 * its context and rethrowing its error, `park` idempotent per position, parked events listed in
 * position order and removed one by one, and a failed `commitBatch` rejecting with the work's error
 * and keeping nothing it can undo. A store without compare-and-set or transactions declares
 * `limitations.compareAndSet` / `limitations.transactional`: those tests then show as skipped, with
 * the reason in their title.
 *
 * @example
 * describeProjectionStoreContract({
 *   name: 'checkpointProjectionStore',
 *   create: async () => checkpointProjectionStore(new InMemoryCheckpointStore(), new InMemoryParkedEventStore()),
 *   limitations: { transactional: 'the checkpoint is stored after the handler, apart from the read model' },
 * });
 */
export function describeProjectionStoreContract<TContext = void>(
  config: ProjectionStoreContractConfig<TContext>,
): void {
  describe(`ProjectionStore contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    const opened: ProjectionStore<TContext>[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await config.cleanup?.(store);
    });
    const open = async () => {
      const store = await config.create();
      opened.push(store);
      return store;
    };
    const id = () => `projection-${randomUUID()}`;
    const failure = () => new Error(`handler failed ${randomUUID()}`);

    const limited = (
      limitation: string | undefined,
      title: string,
      body: (store: ProjectionStore<TContext>) => Promise<void>,
    ) => {
      if (limitation) {
        it.skip(`${title} (not run for this store: ${limitation})`, () => undefined);
        return;
      }
      it(title, async () => body(await open()));
    };
    const withWrites = (
      limitation: string | undefined,
      title: string,
      body: (store: ProjectionStore<TContext>, writes: ProjectionStoreWrites<TContext>) => Promise<void>,
    ) => {
      const { writes } = config;
      if (!writes) {
        it.skip(`${title} (not run for this store: no \`writes\` probe configured)`, () => undefined);
        return;
      }
      limited(limitation, title, (store) => body(store, writes));
    };

    it('has no checkpoint and no parked events for a subscription that never committed', async () => {
      const store = await open();
      const subscription = id();
      expect(await store.load(subscription)).toBeUndefined();
      expect(await store.listParked(subscription)).toEqual([]);
    });

    it('commitBatch runs the work once and moves the checkpoint, per subscription', async () => {
      const store = await open();
      const [a, b] = [id(), id()];
      const work = jest.fn(noWork);
      expect(await store.commitBatch(a, undefined, 10n, work)).toBe(true);
      expect(work).toHaveBeenCalledTimes(1);
      expect(await store.commitBatch(a, 10n, 2n ** 62n + 5n, noWork)).toBe(true);
      expect(await store.commitBatch(b, undefined, 3n, noWork)).toBe(true);
      expect(await store.load(a)).toBe(2n ** 62n + 5n);
      expect(await store.load(b)).toBe(3n);
    });

    limited(
      config.limitations?.compareAndSet,
      'commitBatch returns false and leaves the checkpoint when it is not the expected one',
      async (store) => {
        const subscription = id();
        expect(await store.commitBatch(subscription, 5n, 10n, noWork)).toBe(false);
        expect(await store.load(subscription)).toBeUndefined();
        expect(await store.commitBatch(subscription, undefined, 10n, noWork)).toBe(true);
        expect(await store.commitBatch(subscription, undefined, 11n, noWork)).toBe(false);
        expect(await store.commitBatch(subscription, 9n, 12n, noWork)).toBe(false);
        expect(await store.load(subscription)).toBe(10n);
        expect(await store.commitBatch(subscription, 10n, 20n, noWork)).toBe(true);
        expect(await store.load(subscription)).toBe(20n);
      },
    );

    limited(
      config.limitations?.compareAndSet,
      'commitBatch lets exactly one of many concurrent batches with the same expectation win',
      async (store) => {
        const subscription = id();
        expect(await store.commitBatch(subscription, undefined, 100n, noWork)).toBe(true);
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            store.commitBatch(subscription, 100n, 200n + BigInt(i), noWork),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.load(subscription)).toBe(200n + BigInt(results.indexOf(true)));
      },
    );

    it('reset forgets one subscription checkpoint, and is harmless when there is nothing to forget', async () => {
      const store = await open();
      const [a, b] = [id(), id()];
      await store.commitBatch(a, undefined, 3n, noWork);
      await store.commitBatch(b, undefined, 4n, noWork);
      await store.reset(a);
      await store.reset(id());
      expect(await store.load(a)).toBeUndefined();
      expect(await store.load(b)).toBe(4n);
      expect(await store.commitBatch(a, undefined, 1n, noWork)).toBe(true);
      expect(await store.load(a)).toBe(1n);
    });

    limited(
      config.limitations?.savepoints,
      'attempt runs the handler and rethrows its error; the batch goes on after a failed attempt',
      async (store) => {
        const subscription = id();
        const error = failure();
        const runs: string[] = [];
        const committed = await store.commitBatch(subscription, undefined, 2n, async (batch) => {
          await batch.attempt(async () => {
            runs.push('first');
          });
          await expect(
            batch.attempt(async () => {
              runs.push('second');
              throw error;
            }),
          ).rejects.toBe(error);
          await batch.attempt(async () => {
            runs.push('third');
          });
        });
        expect(committed).toBe(true);
        expect(runs).toEqual(['first', 'second', 'third']);
        expect(await store.load(subscription)).toBe(2n);
      },
    );

    it('keeps the events a batch parks, idempotent per position, listed in position order', async () => {
      const store = await open();
      const subscription = id();
      const [at5, at3] = [parkedEventAt(subscription, 5n), parkedEventAt(subscription, 3n)];
      await store.commitBatch(subscription, undefined, 5n, async (batch: ProjectionBatch<TContext>) => {
        await batch.park(at5);
        await batch.park(at3);
        await batch.park(parkedEventAt(subscription, 5n, { attempts: 99 }));
      });
      // The same batch handled again (after a crash) parks the same events again.
      await store.commitBatch(subscription, 5n, 6n, async (batch) => {
        await batch.park(parkedEventAt(subscription, 3n, { error: 'Error: again' }));
      });
      expect(await store.listParked(subscription)).toEqual([at3, at5]);
      expect(await store.listParked(id())).toEqual([]);
    });

    it('removeParked forgets one parked event, and is harmless when it is not there', async () => {
      const store = await open();
      const subscription = id();
      await store.commitBatch(subscription, undefined, 2n, async (batch) => {
        await batch.park(parkedEventAt(subscription, 1n));
        await batch.park(parkedEventAt(subscription, 2n));
      });
      await store.removeParked(subscription, 1n);
      await store.removeParked(subscription, 42n);
      await store.removeParked(id(), 2n);
      expect((await store.listParked(subscription)).map((event) => event.position)).toEqual([2n]);
    });

    limited(
      config.limitations?.retryRequests,
      'retry requests: marked once, listed per subscription in position order, cleared by a failed retry',
      async (store) => {
        const [subscription, other] = [id(), id()];
        await store.commitBatch(subscription, undefined, 9n, async (batch) => {
          for (const at of [7n, 3n, 9n]) await batch.park(parkedEventAt(subscription, at));
        });
        await store.commitBatch(other, undefined, 5n, async (batch) => {
          await batch.park(parkedEventAt(other, 5n));
        });
        expect(await store.requestRetry!(subscription, 7n)).toBe(true);
        expect(await store.requestRetry!(subscription, 3n)).toBe(true);
        expect(await store.requestRetry!(other, 5n)).toBe(true);
        // Nothing parked there: refused, and nothing is recorded.
        expect(await store.requestRetry!(subscription, 4n)).toBe(false);
        expect(await store.requestRetry!(id(), 3n)).toBe(false);

        const marked = await store.listRetryRequests!([subscription]);
        expect(marked.map((event) => event.position)).toEqual([3n, 7n]);
        for (const event of marked) expect(event.retryRequestedAt).toBeInstanceOf(Date);
        const firstMark = marked[1]!.retryRequestedAt!;
        // Asking twice keeps the first request's time.
        expect(await store.requestRetry!(subscription, 7n)).toBe(true);
        expect((await store.listRetryRequests!([subscription]))[1]!.retryRequestedAt).toEqual(firstMark);
        expect((await store.listRetryRequests!([subscription, other])).map((e) => e.position)).toEqual([
          3n,
          5n,
          7n,
        ]);
        expect(await store.listRetryRequests!([])).toEqual([]);

        await store.recordRetryFailure!(subscription, 7n, 'Error: still failing');
        expect((await store.listRetryRequests!([subscription])).map((e) => e.position)).toEqual([3n]);
        const listed = await store.listParked(subscription);
        const failed = listed.find((event) => event.position === 7n)!;
        expect(failed.retryRequestedAt).toBeUndefined();
        expect(failed.attempts).toBe(parkedEventAt(subscription, 7n).attempts + 1);
        expect(failed.error).toBe('Error: still failing');
        expect(listed.find((event) => event.position === 9n)!.retryRequestedAt).toBeUndefined();
        // A handled event is removed with its request.
        await store.removeParked(subscription, 3n);
        expect(await store.listRetryRequests!([subscription])).toEqual([]);
      },
    );

    limited(
      config.limitations?.retryRequests,
      'unpark forgets a parked event with the batch (a failed transactional batch keeps it)',
      async (store) => {
        const subscription = id();
        await store.commitBatch(subscription, undefined, 4n, async (batch) => {
          await batch.park(parkedEventAt(subscription, 2n));
          await batch.park(parkedEventAt(subscription, 4n));
        });
        if (!config.limitations?.transactional) {
          const error = failure();
          const outcome = store.commitBatch(subscription, 4n, 4n, async (batch) => {
            await batch.unpark!(2n);
            throw error;
          });
          await expect(outcome).rejects.toBe(error);
          expect((await store.listParked(subscription)).map((event) => event.position)).toEqual([2n, 4n]);
        }
        expect(
          await store.commitBatch(subscription, 4n, 4n, async (batch) => {
            expect(typeof batch.unpark).toBe('function');
            await batch.unpark!(2n);
            await batch.unpark!(3n); // not parked: harmless
          }),
        ).toBe(true);
        expect((await store.listParked(subscription)).map((event) => event.position)).toEqual([4n]);
      },
    );

    it('a failed commitBatch rejects with the work error and leaves the checkpoint', async () => {
      const store = await open();
      const subscription = id();
      await store.commitBatch(subscription, undefined, 1n, noWork);
      const error = failure();
      await expect(
        store.commitBatch(subscription, 1n, 2n, async () => {
          throw error;
        }),
      ).rejects.toBe(error);
      expect(await store.load(subscription)).toBe(1n);
      expect(await store.commitBatch(subscription, 1n, 2n, noWork)).toBe(true);
    });

    limited(
      config.limitations?.transactional,
      'a failed commitBatch keeps none of the events it parked',
      async (store) => {
        const subscription = id();
        const error = failure();
        await expect(
          store.commitBatch(subscription, undefined, 2n, async (batch) => {
            await batch.park(parkedEventAt(subscription, 1n));
            throw error;
          }),
        ).rejects.toBe(error);
        expect(await store.listParked(subscription)).toEqual([]);
        expect(await store.load(subscription)).toBeUndefined();
      },
    );

    limited(
      config.limitations?.transactional ?? config.limitations?.compareAndSet,
      'a commitBatch refused for an unexpected checkpoint keeps none of the events it parked',
      async (store) => {
        const subscription = id();
        await store.commitBatch(subscription, undefined, 10n, noWork);
        expect(
          await store.commitBatch(subscription, 3n, 20n, async (batch) => {
            await batch.park(parkedEventAt(subscription, 15n));
          }),
        ).toBe(false);
        expect(await store.listParked(subscription)).toEqual([]);
        expect(await store.load(subscription)).toBe(10n);
      },
    );

    withWrites(undefined, 'commits the handler writes with the batch', async (store, writes) => {
      const subscription = id();
      const marker = randomUUID();
      await store.commitBatch(subscription, undefined, 1n, async (batch) => {
        await batch.attempt((context) => writes.write(context, marker));
      });
      expect(await writes.has(store, marker)).toBe(true);
    });

    withWrites(
      config.limitations?.transactional ?? config.limitations?.compareAndSet,
      'undoes the writes of a failed attempt and of a failed or refused batch',
      async (store, writes) => {
        const subscription = id();
        const [failedAttempt, kept, failedBatch, refusedBatch] = [
          randomUUID(),
          randomUUID(),
          randomUUID(),
          randomUUID(),
        ];
        await store.commitBatch(subscription, undefined, 1n, async (batch) => {
          await batch
            .attempt(async (context) => {
              await writes.write(context, failedAttempt);
              throw failure();
            })
            .catch(() => undefined);
          await batch.attempt((context) => writes.write(context, kept));
        });
        await expect(
          store.commitBatch(subscription, 1n, 2n, async (batch) => {
            await batch.attempt((context) => writes.write(context, failedBatch));
            throw failure();
          }),
        ).rejects.toThrow('handler failed');
        expect(
          await store.commitBatch(subscription, 0n, 3n, async (batch) => {
            await batch.attempt((context) => writes.write(context, refusedBatch));
          }),
        ).toBe(false);
        expect(await writes.has(store, kept)).toBe(true);
        expect(await writes.has(store, failedAttempt)).toBe(false);
        expect(await writes.has(store, failedBatch)).toBe(false);
        expect(await writes.has(store, refusedBatch)).toBe(false);
      },
    );
    withWrites(
      config.limitations?.transactional,
      'undoes every write of a failed attempt, whether or not the attempts before it wrote',
      async (store, writes) => {
        const subscription = id();
        const [first, second, kept] = [randomUUID(), randomUUID(), randomUUID()];
        await store.commitBatch(subscription, undefined, 1n, async (batch) => {
          // An attempt that fails before any write, then one that fails after two.
          await batch
            .attempt(async () => {
              throw failure();
            })
            .catch(() => undefined);
          await batch
            .attempt(async (context) => {
              await writes.write(context, first);
              await writes.write(context, second);
              throw failure();
            })
            .catch(() => undefined);
          await batch.attempt(async () => undefined);
          await batch.attempt((context) => writes.write(context, kept));
        });
        expect(await writes.has(store, kept)).toBe(true);
        expect(await writes.has(store, first)).toBe(false);
        expect(await writes.has(store, second)).toBe(false);
        expect(await store.load(subscription)).toBe(1n);
      },
    );

    const withLeases = (
      title: string,
      body: (store: ProjectionStore<TContext>, leases: PartitionLeaseStore) => Promise<void>,
    ) => {
      const { leases } = config;
      if (!leases) {
        it.skip(`${title} (not run for this store: no \`leases\` configured)`, () => undefined);
        return;
      }
      it(title, async () => {
        const store = await open();
        await body(store, await leases(store));
      });
    };

    withLeases('commits a batch whose lease fence is held', async (store, leases) => {
      const group = id();
      await leases.heartbeat(group, 'worker-a', 2, 60_000);
      const lease = (await leases.acquire(group, 1, 'worker-a', 60_000))!;
      const subscription = `${group}#1`;
      expect(await store.commitBatch(subscription, undefined, 7n, noWork, lease)).toBe(true);
      expect(await store.load(subscription)).toBe(7n);
    });

    withLeases(
      'refuses with LeaseLostError, keeping nothing, a batch whose lease was taken over',
      async (store, leases) => {
        const group = id();
        await leases.heartbeat(group, 'worker-a', 1, 60_000);
        const old = (await leases.acquire(group, 0, 'worker-a', 60_000))!;
        const subscription = `${group}#0`;
        expect(await store.commitBatch(subscription, undefined, 5n, noWork, old)).toBe(true);
        await leases.release(old);
        const taken = (await leases.acquire(group, 0, 'worker-b', 60_000))!;
        const marker = randomUUID();
        const late = await store
          .commitBatch(
            subscription,
            5n,
            9n,
            async (batch) => {
              await batch.park(parkedEventAt(subscription, 8n));
              if (config.writes) await batch.attempt((context) => config.writes!.write(context, marker));
            },
            old,
          )
          .catch((error: unknown) => error);
        expect(isLeaseLostError(late)).toBe(true);
        expect(await store.load(subscription)).toBe(5n);
        if (!config.limitations?.transactional) {
          expect(await store.listParked(subscription)).toEqual([]);
          if (config.writes) expect(await config.writes.has(store, marker)).toBe(false);
        }
        expect(await store.commitBatch(subscription, 5n, 9n, noWork, taken)).toBe(true);
      },
    );

    withLeases('refuses a batch whose lease lapsed, even if no one took it over', async (store, leases) => {
      const group = id();
      await leases.heartbeat(group, 'worker-a', 1, 60_000);
      const lease = (await leases.acquire(group, 0, 'worker-a', 300))!;
      await new Promise((resolve) => setTimeout(resolve, 500));
      const late = await store
        .commitBatch(`${group}#0`, undefined, 3n, noWork, lease)
        .catch((error: unknown) => error);
      expect(isLeaseLostError(late)).toBe(true);
      expect(await store.load(`${group}#0`)).toBeUndefined();
    });
  });
}
