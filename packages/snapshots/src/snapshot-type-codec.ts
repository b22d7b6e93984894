/**
 * Teaches {@link JsonSnapshotSerializer} one more type, e.g. a value object class. `encode` returns
 * a payload that is itself encoded (so it may hold Dates, Maps, other codec types…); `decode`
 * receives that payload already decoded and returns the instance. `encode` must not return a value
 * that this codec matches again (that would never end); `decode` must return a value it matches.
 * A subclass of Map, Set, Array or Date needs a codec too, or it would come back as the base type.
 *
 * @example
 * const moneyCodec: SnapshotTypeCodec<Money> = {
 *   tag: 'Money',
 *   matches: (value): value is Money => value instanceof Money,
 *   encode: (money) => ({ amount: money.amount, currency: money.currency }),
 *   decode: (payload) => {
 *     const { amount, currency } = payload as { amount: bigint; currency: string };
 *     return new Money(amount, currency);
 *   },
 * };
 */
export interface SnapshotTypeCodec<T = unknown> {
  /** Written in the JSON as the value of the `"$es"` key. Must not be a built-in tag. */
  readonly tag: string;
  /** True for the values this codec encodes. Checked before the built-in types. */
  matches(value: unknown): value is T;
  encode(value: T): unknown;
  decode(payload: unknown): T;
}
