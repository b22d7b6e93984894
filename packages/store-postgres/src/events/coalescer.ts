import { type AppendResult, InvalidArgumentError } from '@es/core';
import type { PreparedAppend } from '@es/core/adapter';
import { sqlState } from '../connection/driver-errors.js';
import type { SqlSession } from '../connection/sql-executor.js';
import type { StoreNames } from '../schema/identifiers.js';
import { type AppendRow, appendPrepared, encodeExpected, interpret } from './append.js';
import {
  batchQuery,
  type CoalescedStatements,
  coalescedStatements,
  fastBatchQuery,
  isFastBatch,
} from './coalesced-sql.js';
import { POSITION_INDEX_BITS, toPosition } from './position.js';

/**
 * Settings of write coalescing (`PostgresEventStore`'s `coalesce` option); each has a default.
 *
 * @example
 * const store = new PostgresEventStore({ connection: url, coalesce: { maxInFlight: 4 } });
 */
export interface CoalesceOptions {
  /**
   * How long, in milliseconds, a batch waits for more appends before it is sent. Defaults to 0:
   * a batch is sent as soon as a connection slot is free (see `maxInFlight`), and fills while the
   * batches before it are in flight, so coalescing adds no wait at low load.
   */
  readonly maxWaitMs?: number;
  /** The most events one batch (one transaction) holds, 1 to 65,535. Defaults to 1,024. */
  readonly maxBatchEvents?: number;
  /** How many batches may be in flight at once, each on its own pooled connection. Defaults to 2. */
  readonly maxInFlight?: number;
}

/** The resolved `coalesce` option of `PostgresEventStore`. */
type CoalesceSettings = Required<CoalesceOptions>;

/** The default settings of `coalesce: true`. */
const DEFAULT_COALESCE: CoalesceSettings = { maxWaitMs: 0, maxBatchEvents: 1_024, maxInFlight: 2 };

/** One batch holds at most as many events as a transaction has position indexes. */
const MAX_COALESCED_EVENTS = 2 ** POSITION_INDEX_BITS - 1;

// Each append of a batch holds an advisory lock on its stream until the commit, in the server's
// shared lock table (max_locks_per_transaction x max_connections slots, 6,400 by default).
const MAX_BATCH_APPENDS = 256;

// An append of this many events already fills a transaction: gathering it with others saves
// little and would serialise large writers on `maxInFlight` connections. It goes alone, at once,
// unless an append to its stream is queued or in flight (then it queues, keeping call order).
const ALONE_EVENTS = 64;

/** Checks the `coalesce` option: `true`, `false`, or an object of {@link CoalesceSettings}. */
export function coalesceSettings(option: unknown): CoalesceSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return DEFAULT_COALESCE;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidArgumentError(
      'coalesce',
      'expected true, false, or { maxWaitMs?, maxBatchEvents?, maxInFlight? }; leave it out to append one transaction per call.',
    );
  }
  for (const key of Object.keys(option)) {
    if (key !== 'maxWaitMs' && key !== 'maxBatchEvents' && key !== 'maxInFlight') {
      throw new InvalidArgumentError(
        `coalesce.${key}`,
        'is not a coalescing setting (they are maxWaitMs, maxBatchEvents, maxInFlight).',
      );
    }
  }
  const given = option as CoalesceOptions;
  const integer = (key: keyof CoalesceSettings, min: number, max: number): number => {
    const value = given[key] ?? DEFAULT_COALESCE[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(
        `coalesce.${key}`,
        `expected an integer from ${min} to ${max}, got ${String(value)}; leave it out for ${DEFAULT_COALESCE[key]}.`,
      );
    }
    return value;
  };
  return {
    maxWaitMs: integer('maxWaitMs', 0, 1_000),
    maxBatchEvents: integer('maxBatchEvents', 1, MAX_COALESCED_EVENTS),
    maxInFlight: integer('maxInFlight', 1, 64),
  };
}

interface Pending {
  readonly append: PreparedAppend;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * What the coalesced append function (migration 009) returns: one row per append, or one per
 * stored event id; 'unwritten' for a fast-path append the unique index or the version probe refused.
 */
interface BatchRow {
  readonly o_kind: 'appended' | 'conflict' | 'found' | 'unwritten';
  readonly o_append: number;
  readonly o_stream_version: number;
  readonly o_event_id: string | null;
  readonly o_version: number | null;
  readonly o_position: string | number | bigint | null;
  readonly o_stream_id: string | null;
}

// SQLSTATE classes of errors one append of a batch can cause on its own (an input the server
// refuses, a unique index fired by a writer that took no lock, a deadlock): the batch was rolled
// back, and its appends are run again one by one, so that only the guilty one fails.
const SINGLE_APPEND_CLASSES = new Set(['22', '23', '40', '54']);

/**
 * Gathers concurrent appends of one store into batches written in one round trip and one
 * transaction by the coalesced append function of migration 009 ("group commit"). Single-event
 * appends at an exact version, alone on their stream in the batch and without caller-chosen ids,
 * take its lock-free fast path (one multi-row INSERT the unique index decides, as the single
 * append); one the index or the version probe refused runs through the single append after the
 * commit, which reports the exact conflict. A batch is sent as soon as
 * fewer than `maxInFlight` batches are in flight (after `maxWaitMs`, if set), so at low load an
 * append waits for nothing, and under load the next batch fills while the previous ones fly.
 * Each append is checked on its own inside the batch, appends to one stream are applied in call
 * order (an append whose stream is in a batch in flight waits for the next batch), an append of
 * 64 events or more goes alone at once (unless its stream has appends queued), and every
 * caller is answered after the commit. A batch the server refuses as a whole (see
 * `SINGLE_APPEND_CLASSES`) is rolled back and its appends run one by one; a connection lost
 * mid-batch fails each of its appends with the driver's error, which the store reports as
 * "unknown outcome, retry with the same event ids".
 */
export class AppendCoalescer {
  readonly #session: SqlSession;
  readonly #names: StoreNames;
  readonly #settings: CoalesceSettings;
  readonly #statements: CoalescedStatements;
  #queue: Pending[] = [];
  #inFlight = 0;
  readonly #busyStreams = new Map<string, number>();
  #scheduled = false;
  #idle: Array<() => void> = [];
  #alones = 0;

  constructor(session: SqlSession, names: StoreNames, settings: CoalesceSettings) {
    this.#session = session;
    this.#names = names;
    this.#settings = settings;
    this.#statements = coalescedStatements(names);
  }

  /** Queues a prepared append; resolves or rejects after the commit of its batch. */
  append(append: PreparedAppend): Promise<AppendResult> {
    if (
      append.events.length >= ALONE_EVENTS &&
      !this.#busyStreams.has(append.streamId) &&
      !this.#queue.some((pending) => pending.append.streamId === append.streamId)
    ) {
      return this.#alone(append);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ append, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every queued append has been answered. */
  drained(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && this.#inFlight === 0 && this.#alones === 0;
  }

  #markBusy(streamId: string): void {
    this.#busyStreams.set(streamId, (this.#busyStreams.get(streamId) ?? 0) + 1);
  }

  #markDone(streamId: string): void {
    const count = this.#busyStreams.get(streamId)! - 1;
    if (count === 0) this.#busyStreams.delete(streamId);
    else this.#busyStreams.set(streamId, count);
  }

  /** After a batch or a lone append: the next batch, or wake `drained()`. */
  #settle(): void {
    if (this.#queue.length > 0) this.#schedule();
    else if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** A large append, on its own connection, outside the batches (see `ALONE_EVENTS`). */
  async #alone(append: PreparedAppend): Promise<AppendResult> {
    this.#alones++;
    this.#markBusy(append.streamId);
    try {
      return await appendPrepared(this.#session, this.#names, append);
    } finally {
      this.#alones--;
      this.#markDone(append.streamId);
      this.#settle();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#settings.maxInFlight) return;
    this.#scheduled = true;
    // Let the appends of the same tick (Promise.all of several commands) join the batch. (A
    // microtask when nothing is in flight measured no different: W1 1 writer 1,298 against 1,358
    // appends/s, 8 writers 10,413 against 10,929, 7 interleaved rounds.)
    const run = () => {
      this.#scheduled = false;
      this.#dispatch();
    };
    if (this.#settings.maxWaitMs > 0) setTimeout(run, this.#settings.maxWaitMs);
    else setImmediate(run);
  }

  #dispatch(): void {
    while (this.#inFlight < this.#settings.maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) break; // every queued append waits for a stream in flight
      this.#inFlight++;
      for (const pending of batch) this.#markBusy(pending.append.streamId);
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        for (const pending of batch) this.#markDone(pending.append.streamId);
        this.#settle();
      });
    }
  }

  /**
   * The next batch, in call order: appends whose stream is in a batch in flight stay queued (and
   * so do the later appends to that stream), as do appends past `maxBatchEvents`. An append larger
   * than `maxBatchEvents` goes alone.
   */
  #take(): Pending[] {
    const batch: Pending[] = [];
    const kept: Pending[] = [];
    const held = new Set<string>();
    // Caller-chosen ids in the batch: a second append carrying one of them (a retry sent while the
    // first attempt is queued) waits for the next batch, where it is recognised as a retry.
    const suppliedIds = new Set<string>();
    let events = 0;
    for (const pending of this.#queue) {
      const { streamId, events: appended, mayBeRetry } = pending.append;
      // An append larger than a batch goes alone (as the single append it is).
      const fits = batch.length === 0 || events + appended.length <= this.#settings.maxBatchEvents;
      if (
        !fits ||
        batch.length >= MAX_BATCH_APPENDS ||
        held.has(streamId) ||
        this.#busyStreams.has(streamId) ||
        (mayBeRetry && appended.some((event) => suppliedIds.has(event.eventId)))
      ) {
        held.add(streamId);
        kept.push(pending);
        continue;
      }
      batch.push(pending);
      events += appended.length;
      if (mayBeRetry) for (const event of appended) suppliedIds.add(event.eventId);
    }
    this.#queue = kept;
    return batch;
  }

  async #run(batch: readonly Pending[]): Promise<void> {
    // A batch of one is the single append, with its lock-free path for exact versions.
    if (batch.length === 1 || batch[0]!.append.events.length > MAX_COALESCED_EVENTS) {
      await Promise.all(batch.map((pending) => this.#single(pending)));
      return;
    }
    if (isFastBatch(batch.map((pending) => pending.append))) {
      await this.#runFast(batch);
      return;
    }
    let rows: BatchRow[];
    try {
      rows = await this.#session.query<BatchRow>(
        batchQuery(
          this.#statements.batch,
          batch.map((pending) => pending.append),
        ),
      );
    } catch (error) {
      await this.#refused(batch, error);
      return;
    }
    const byAppend: BatchRow[][] = batch.map(() => []);
    for (const row of rows) byAppend[row.o_append - 1]?.push(row);
    // Fast-path appends the index or the probe refused: after the commit, through the single
    // append, which says exactly why (or writes them, if their stream has reached the version).
    const unwritten: Pending[] = [];
    batch.forEach((pending, index) => {
      const own = byAppend[index]!;
      if (own[0]?.o_kind === 'unwritten') {
        unwritten.push(pending);
        return;
      }
      try {
        // Each append's rows read as the single append function's are (same columns and kinds).
        // ('unwritten' is the only kind the single append function has not; it was handled above.)
        pending.resolve(interpret(pending.append, own as readonly AppendRow[]));
      } catch (error) {
        pending.reject(error);
      }
    });
    if (unwritten.length > 0) await Promise.all(unwritten.map((pending) => this.#single(pending)));
  }

  /** A batch of fast-path appends only, in one INSERT (`coalescedStatements(...).fast`). */
  async #runFast(batch: readonly Pending[]): Promise<void> {
    let rows: Array<{ stream_id: string; position: string | number | bigint }>;
    try {
      rows = await this.#session.query(
        fastBatchQuery(
          this.#statements,
          batch.map((pending) => pending.append),
        ),
      );
    } catch (error) {
      await this.#refused(batch, error);
      return;
    }
    const written = new Map<string, string | number | bigint>();
    for (const row of rows) written.set(row.stream_id, row.position);
    const unwritten: Pending[] = [];
    for (const pending of batch) {
      const position = written.get(pending.append.streamId);
      if (position === undefined) {
        unwritten.push(pending);
        continue;
      }
      try {
        pending.resolve({
          nextVersion: encodeExpected(pending.append.expectedVersion) + 1,
          lastPosition: toPosition(position),
        });
      } catch (error) {
        pending.reject(error);
      }
    }
    // Not written (a conflict, a stream behind, another era): after the commit, through the single
    // append, which says exactly why (or writes it, if the stream has reached the version since).
    if (unwritten.length > 0) await Promise.all(unwritten.map((pending) => this.#single(pending)));
  }

  /**
   * A batch statement that failed: an error one append can cause (see `SINGLE_APPEND_CLASSES`)
   * reruns the appends one by one, so only the guilty one fails; any other fails every append.
   */
  async #refused(batch: readonly Pending[], error: unknown): Promise<void> {
    const state = sqlState(error);
    if (state && SINGLE_APPEND_CLASSES.has(state.slice(0, 2))) await this.#oneByOne(batch);
    else for (const pending of batch) pending.reject(error);
  }

  /** After a batch the server refused as a whole: each append alone, in call order per stream. */
  async #oneByOne(batch: readonly Pending[]): Promise<void> {
    const chains = new Map<string, Promise<void>>();
    for (const pending of batch) {
      const streamId = pending.append.streamId;
      const previous = chains.get(streamId) ?? Promise.resolve();
      chains.set(
        streamId,
        previous.then(() => this.#single(pending)),
      );
    }
    await Promise.all(chains.values());
  }

  async #single(pending: Pending): Promise<void> {
    try {
      pending.resolve(await appendPrepared(this.#session, this.#names, pending.append));
    } catch (error) {
      pending.reject(error);
    }
  }
}
