import { InvalidArgumentError, type SnapshotSerializer } from '@es/core';
import type { SnapshotSerializationError } from './snapshot-serialization-error.js';
import type { SnapshotTypeCodec } from './snapshot-type-codec.js';
import { BUILT_IN_TAGS, decodeTagged, encodeTagged, type MAX_CODEC_NESTING } from './tagged-json.js';

/** Options of {@link JsonSnapshotSerializer}. */
export interface JsonSnapshotSerializerOptions {
  /** Extra types to round-trip, e.g. value-object classes. Defaults to none. */
  readonly types?: readonly SnapshotTypeCodec[];
}

/**
 * Turns an aggregate's snapshot state into JSON that PostgreSQL or MongoDB can store, and back,
 * keeping the types aggregates really hold. It is the specification's `JSONSnapshotSerializer`.
 *
 * The encoding (stable: stored snapshots depend on it):
 * - `null`, booleans, strings and finite numbers are written as themselves; arrays and plain
 *   objects element by element.
 * - Everything else becomes a tagged object `{ "$es": tag, "v": payload }`:
 *   `Date` → ISO string (`null` for an invalid date), `bigint` → decimal string,
 *   `number` → `"NaN"`, `"Infinity"`, `"-Infinity"` or `"-0"`, `undefined` → no payload (so an
 *   object keeps a key whose value is `undefined`), `Map` → array of `[key, value]` pairs,
 *   `Set` → array of items, and a custom codec's tag → its encoded payload.
 * - A plain object that has a `"$es"` key of its own is wrapped as `{ "$es": "Object", "v": {…} }`,
 *   so user data can never be mistaken for a tag.
 *
 * Only exact built-ins are encoded as such: a subclass (`class Inventory extends Map`, an Array or
 * Date subclass) would come back as the plain base type without its methods, so it needs a codec
 * like any other class instance (codecs are tried first). Objects of another realm (a vm context,
 * jest's sandbox) are accepted.
 *
 * Not kept: object identity (a value referenced twice comes back as two equal copies), prototypes
 * of plain objects created with `Object.create(null)`, and array holes (they become `undefined`).
 * Circular references, functions, symbols, class instances without a codec and a codec whose
 * `encode` keeps producing values it must encode again (more than {@link MAX_CODEC_NESTING} deep)
 * are refused with a {@link SnapshotSerializationError} naming the path
 * (`$.accounts.get("a1").opened`), so nothing is silently lost. The output shares nothing with the
 * input.
 *
 * Decoding is strict: it accepts exactly what `serialize` writes and refuses anything else with a
 * {@link SnapshotSerializationError} (`operation: 'deserialize'`) naming the path: unknown tags,
 * extra keys or a missing payload in a tagged value, a Map entry that is not a `[key, value]` pair,
 * duplicate Map keys or Set items, a Date string other than `toISOString()`'s, a bigint string other
 * than `toString()`'s (no `""`, `"0x1f"`, `" 7"`, `"007"`), a codec whose `decode` throws (the
 * `cause`) or returns a value its `matches` refuses. The repository then rebuilds the aggregate from
 * its events and replaces the snapshot on the next save.
 *
 * @example
 * const repository = new EventSourcingBuilder()
 *   .withEventStore(store)
 *   .withSnapshotStore(new InMemorySnapshotStore())
 *   .withSnapshotStrategy(new FrequencySnapshotStrategy(100))
 *   .withSnapshotSerializer(new JsonSnapshotSerializer({ types: [moneyCodec] }))
 *   .build((id) => new Warehouse(id));
 */
export class JsonSnapshotSerializer implements SnapshotSerializer {
  readonly #codecs: ReadonlyMap<string, SnapshotTypeCodec>;

  constructor(options: JsonSnapshotSerializerOptions = {}) {
    const codecs = new Map<string, SnapshotTypeCodec>();
    for (const codec of options.types ?? []) {
      assertCodec(codec, codecs);
      codecs.set(codec.tag, codec);
    }
    this.#codecs = codecs;
  }

  /** The state as a JSON-safe value. Throws {@link SnapshotSerializationError} for what it cannot encode. */
  serialize(state: unknown): unknown {
    return encodeTagged(state, this.#codecs);
  }

  /**
   * The state back from {@link serialize}'s output. Throws {@link SnapshotSerializationError} for
   * anything `serialize` would not have written (corrupted or hand-edited data).
   */
  deserialize(value: unknown): unknown {
    return decodeTagged(value, this.#codecs);
  }
}

function assertCodec(codec: SnapshotTypeCodec, known: ReadonlyMap<string, SnapshotTypeCodec>): void {
  const tag = codec?.tag;
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new InvalidArgumentError('types', 'every codec needs a non-empty string tag.');
  }
  if (BUILT_IN_TAGS.includes(tag) || known.has(tag)) {
    throw new InvalidArgumentError('types', `the tag "${tag}" is built in or used by another codec.`);
  }
  for (const method of ['matches', 'encode', 'decode'] as const) {
    if (typeof codec[method] !== 'function') {
      throw new InvalidArgumentError('types', `the "${tag}" codec needs a ${method}() function.`);
    }
  }
}
