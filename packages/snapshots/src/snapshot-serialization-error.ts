import { EventSerializationError } from '@es/core';

// A registry-wide brand, so the guard works when two copies of this package are installed.
const BRAND = Symbol.for('@es/snapshots/snapshot-serialization-error');

/**
 * Snapshot state that {@link JsonSnapshotSerializer} cannot encode, or stored snapshot JSON it
 * cannot decode faithfully. `path` names the field (`$.stock.get("sku-1").since`); `operation`
 * says which way it failed. It extends `EventSerializationError`, so its `code` is
 * `ES_EVENT_SERIALIZATION` and `isEventSerializationError(error)` is true; a codec's own error is
 * the `cause`.
 *
 * The repository treats a failing `deserialize` like any unusable snapshot: it reports the error
 * (`operation: 'restore'`) and rebuilds the aggregate from its events.
 */
export class SnapshotSerializationError extends EventSerializationError {
  readonly [BRAND] = true;

  constructor(
    /** `'serialize'` when taking a snapshot, `'deserialize'` when reading a stored one. */
    readonly operation: 'serialize' | 'deserialize',
    /** Where in the state: `$` is the state itself, then `.key`, `[index]`, `.get(key)`, `<Tag>`. */
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Cannot ${operation} the snapshot state: ${reason}.`,
      undefined,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** True for a {@link SnapshotSerializationError}, whichever copy of `@es/snapshots` threw it. */
export function isSnapshotSerializationError(error: unknown): error is SnapshotSerializationError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
