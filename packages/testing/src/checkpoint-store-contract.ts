import { randomUUID } from 'node:crypto';
import { type CheckpointStore, isInvalidArgumentError } from '@es/core';
import { afterEach, describe, expect, it, jest } from '@jest/globals';

/** Configures `describeCheckpointStoreContract`. */
export interface CheckpointStoreContractConfig {
  /** Shown in the suite's title, e.g. "PostgresCheckpointStore". */
  readonly name: string;
  /** Returns a store no other test writes to. Called once or more per test. */
  readonly create: () => Promise<CheckpointStore>;
  /** Releases what `create` made (drop a schema, close a pool). Defaults to doing nothing. */
  readonly cleanup?: (store: CheckpointStore) => Promise<void>;
  /** Per-test timeout in ms. Defaults to 30,000. */
  readonly timeoutMs?: number;
  /** Behaviours the store does not offer, each with the reason shown on the skipped tests. */
  readonly limitations?: CheckpointStoreContractLimitations;
}

/**
 * What a `CheckpointStore` may leave out, each declared with a reason. A test of a behaviour the
 * store does not declare as missing runs, and fails when the store lacks it.
 */
export interface CheckpointStoreContractLimitations {
  /** The store has no compare-and-set `saveIf` (it is used through `save`). */
  readonly saveIf?: string;
}

type SaveIf = NonNullable<CheckpointStore['saveIf']>;

/**
 * The behaviour every `CheckpointStore` must show, as one jest suite: load / save / reset per
 * subscription, bigint positions beyond 2^53, argument checks, and the compare-and-set `saveIf`
 * (atomic under concurrency). A store without `saveIf` declares `limitations.saveIf`: its tests
 * then show as skipped, with the reason in their title.
 *
 * @example
 * describeCheckpointStoreContract({ name: 'InMemoryCheckpointStore', create: async () => new InMemoryCheckpointStore() });
 */
export function describeCheckpointStoreContract(config: CheckpointStoreContractConfig): void {
  describe(`CheckpointStore contract: ${config.name}`, () => {
    jest.setTimeout(config.timeoutMs ?? 30_000);
    const opened: CheckpointStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0).reverse()) await config.cleanup?.(store);
    });
    const open = async () => {
      const store = await config.create();
      opened.push(store);
      return store;
    };
    const id = () => `projection-${randomUUID()}`;

    it('has no checkpoint for a subscription that never saved one', async () => {
      const store = await open();
      expect(await store.load(id())).toBeUndefined();
    });

    it('loads the position saved last, per subscription', async () => {
      const store = await open();
      const [a, b] = [id(), id()];
      await store.save(a, 10n);
      await store.save(a, 25n);
      await store.save(b, 7n);
      expect(await store.load(a)).toBe(25n);
      expect(await store.load(b)).toBe(7n);
    });

    it('keeps positions beyond 2^53 exactly, and position 0', async () => {
      const store = await open();
      const big = 2n ** 62n + 3n;
      const subscription = id();
      await store.save(subscription, big);
      expect(await store.load(subscription)).toBe(big);
      await store.save(subscription, 0n);
      expect(await store.load(subscription)).toBe(0n);
    });

    it('reset forgets one subscription only, and is harmless when there is nothing to forget', async () => {
      const store = await open();
      const [a, b] = [id(), id()];
      await store.save(a, 3n);
      await store.save(b, 4n);
      await store.reset(a);
      await store.reset(id());
      expect(await store.load(a)).toBeUndefined();
      expect(await store.load(b)).toBe(4n);
      await store.save(a, 1n);
      expect(await store.load(a)).toBe(1n);
    });

    it('refuses a position that is not a non-negative bigint, and an empty subscription id', async () => {
      const store = await open();
      const subscription = id();
      for (const bad of [-1n, 5, '5', undefined] as unknown[]) {
        const error = await store.save(subscription, bad as bigint).catch((e: unknown) => e);
        expect(isInvalidArgumentError(error)).toBe(true);
      }
      expect(isInvalidArgumentError(await store.load('').catch((e: unknown) => e))).toBe(true);
      expect(await store.load(subscription)).toBeUndefined();
    });

    const noSaveIf = config.limitations?.saveIf;
    const saveIfTest = (title: string, body: (saveIf: SaveIf, store: CheckpointStore) => Promise<void>) => {
      if (noSaveIf) {
        it.skip(`${title} (not run for this store: ${noSaveIf})`, () => undefined);
        return;
      }
      it(title, async () => {
        const store = await open();
        if (typeof store.saveIf !== 'function') {
          throw new Error(
            `${config.name} has no saveIf: implement it, or declare limitations.saveIf with the reason it is missing.`,
          );
        }
        await body(store.saveIf.bind(store), store);
      });
    };

    saveIfTest('saveIf stores only when the checkpoint is the expected one', async (saveIf, store) => {
      const subscription = id();
      expect(await saveIf(subscription, 5n, 10n)).toBe(false);
      expect(await store.load(subscription)).toBeUndefined();
      expect(await saveIf(subscription, undefined, 10n)).toBe(true);
      expect(await saveIf(subscription, undefined, 11n)).toBe(false);
      expect(await saveIf(subscription, 9n, 12n)).toBe(false);
      expect(await store.load(subscription)).toBe(10n);
      expect(await saveIf(subscription, 10n, 20n)).toBe(true);
      expect(await store.load(subscription)).toBe(20n);
    });

    saveIfTest(
      'saveIf lets exactly one of many concurrent writers with the same expectation win',
      async (saveIf, store) => {
        const subscription = id();
        await store.save(subscription, 100n);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => saveIf(subscription, 100n, 200n + BigInt(i))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.load(subscription)).toBe(200n + BigInt(winner));
      },
    );
  });
}
