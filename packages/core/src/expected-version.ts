/**
 * What the writer believes about a stream before appending. Besides these markers, an exact number
 * means "the stream's version is exactly this" (`0` = the stream must not exist yet).
 *
 * @example
 * await store.appendEvents('account-1', ExpectedVersion.NoStream, [opened]);
 * await store.appendEvents('account-1', 1, [deposited]);
 */
export const ExpectedVersion = {
  /** Append whatever the stream's version is. */
  Any: 'any',
  /** The stream must not exist yet (same as `0`). */
  NoStream: 'no_stream',
  /** The stream must already have at least one event. */
  StreamExists: 'stream_exists',
} as const;

/** One of the {@link ExpectedVersion} markers: `'any'`, `'no_stream'` or `'stream_exists'`. */
export type ExpectedVersionMarker = (typeof ExpectedVersion)[keyof typeof ExpectedVersion];

/** An exact stream version (a non-negative integer) or one of the {@link ExpectedVersion} markers. */
export type ExpectedVersionValue = number | ExpectedVersionMarker;

/** Why `actualVersion` does not satisfy `expected`, or `undefined` when it does. */
export function expectedVersionMismatch(
  expected: ExpectedVersionValue,
  actualVersion: number,
): string | undefined {
  if (expected === ExpectedVersion.Any) return undefined;
  if (expected === ExpectedVersion.NoStream || expected === 0) {
    return actualVersion === 0 ? undefined : 'the stream already exists';
  }
  if (expected === ExpectedVersion.StreamExists) {
    return actualVersion > 0 ? undefined : 'the stream does not exist';
  }
  return actualVersion === expected ? undefined : `the stream is at version ${actualVersion}`;
}
