import { randomUUID } from 'node:crypto';
import { assertPositiveInteger } from '../validation.js';

/** Proof that this instance is the single active one of a projection, until `lost` fires. */
export interface ProjectionLease {
  /** Aborted when the lease is gone: released, expired, taken over, or its connection dropped. */
  readonly lost: AbortSignal;
  /** Gives the lease up so another instance can take over at once. */
  release(): Promise<void>;
}

/**
 * Keeps one instance of a projection active across processes. `tryAcquire` tries once and returns
 * `undefined` while another instance holds the lease; projections waiting on standby try again and
 * take over when the holder dies. While `signal` is not aborted the lease is kept alive; aborting it
 * abandons the lease as a crash would (it is not released; it ends when it expires or its
 * connection closes).
 */
export interface ProjectionLock {
  tryAcquire(subscriptionId: string, signal: AbortSignal): Promise<ProjectionLease | undefined>;
}

/** Timing of an `InMemoryProjectionLock`'s leases. */
export interface InMemoryProjectionLockOptions {
  /** How long a lease lives without renewal. Defaults to 5,000 ms. */
  readonly ttlMs?: number;
  /** How often the holder renews its lease. Defaults to a third of `ttlMs`. */
  readonly renewEveryMs?: number;
}

interface Holder {
  readonly token: string;
  expiresAt: number;
}

/**
 * Leases with a time-to-live, shared by the projections that use the same instance: for tests and
 * for several workers in one process. Across processes use a database lock (e.g.
 * `PostgresProjectionLock`, an advisory lock).
 */
export class InMemoryProjectionLock implements ProjectionLock {
  readonly #holders = new Map<string, Holder>();
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;

  constructor(options: InMemoryProjectionLockOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 5000;
    assertPositiveInteger(this.#ttlMs, 'ttlMs');
    this.#renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(this.#ttlMs / 3));
    assertPositiveInteger(this.#renewEveryMs, 'renewEveryMs');
  }

  async tryAcquire(subscriptionId: string, signal: AbortSignal): Promise<ProjectionLease | undefined> {
    const current = this.#holders.get(subscriptionId);
    if (signal.aborted || (current && current.expiresAt > Date.now())) return undefined;
    const holder: Holder = { token: randomUUID(), expiresAt: Date.now() + this.#ttlMs };
    this.#holders.set(subscriptionId, holder);
    const lost = new AbortController();
    const stillMine = () => this.#holders.get(subscriptionId) === holder && holder.expiresAt > Date.now();
    const timer = setInterval(() => {
      if (!stillMine()) {
        clearInterval(timer);
        lost.abort(new Error(`The lease on "${subscriptionId}" expired or was taken over.`));
        return;
      }
      holder.expiresAt = Date.now() + this.#ttlMs;
    }, this.#renewEveryMs);
    timer.unref?.();
    // The owner is gone: stop renewing and let the lease expire.
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    return {
      lost: lost.signal,
      release: async () => {
        clearInterval(timer);
        if (this.#holders.get(subscriptionId) === holder) this.#holders.delete(subscriptionId);
        lost.abort(new Error(`The lease on "${subscriptionId}" was released.`));
      },
    };
  }
}
