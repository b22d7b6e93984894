import type { DomainEvent } from '@es/core';
import { Projection } from './projection.js';
import type { ProjectionOptions } from './projection-options.js';

/** What `rebuildProjection` needs. */
export interface RebuildProjectionOptions<E extends DomainEvent, TContext> {
  /** The projection serving readers now. It keeps running until the switch, then is stopped. */
  readonly current?: Projection<E, TContext>;
  /**
   * The projection that fills the fresh read model: a new `name` (its own checkpoint) and a handler
   * writing to the new read model (e.g. a new table). Its checkpoint is reset before it starts.
   */
  readonly next: ProjectionOptions<E, TContext>;
  /**
   * Points readers at the fresh read model (swap a view, rename tables, move a pointer). Called once
   * the new projection has caught up with the log, while both projections run, so readers never
   * see a gap. Persist which read model is current here, so a restarted process runs `next`.
   */
  readonly switchOver: () => Promise<void>;
}

/**
 * Rebuilds a projection without downtime: replays the whole log into a fresh read model while the
 * old one keeps serving, switches readers to it once it has caught up, then stops the old
 * projection. Returns the new projection, running live. Drop the old read model afterwards.
 *
 * @example
 * const next = await rebuildProjection({
 *   current: balancesV1,
 *   next: { name: 'balances-v2', eventStore, checkpoints, handler: applyTo('balances_v2') },
 *   switchOver: async () => { await db.query('CREATE OR REPLACE VIEW balances AS SELECT * FROM balances_v2'); },
 * });
 */
export async function rebuildProjection<E extends DomainEvent, TContext>(
  options: RebuildProjectionOptions<E, TContext>,
): Promise<Projection<E, TContext>> {
  const next = new Projection<E, TContext>(options.next);
  await next.reset();
  next.start();
  try {
    await next.waitForIdle();
    await options.switchOver();
  } catch (error) {
    await next.stop();
    throw error;
  }
  await options.current?.stop();
  return next;
}
