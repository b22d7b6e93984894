import { EventValidationError, InvalidArgumentError, UnknownEventTypeError } from './errors.js';
import type { DomainEvent } from './events.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** Turns stored data of one schema version into the next version's shape. */
export type Upcaster = (data: unknown) => unknown;

/** How to decode and check one event type's data. */
export interface EventDefinition<TData> {
  /** Validates (and may transform) data on append and after upcasting on read. */
  readonly schema?: StandardSchemaV1<unknown, TData>;
  /**
   * Upcasters in order: `upcasters[0]` turns v1 data into v2, `upcasters[1]` v2 into v3, and so on.
   * The type's current schema version is `upcasters.length + 1`; new events are written at it.
   */
  readonly upcasters?: readonly Upcaster[];
}

/** A phantom definition: types the data as `TData` without validating it at run time. */
export function typed<TData>(
  definition: Omit<EventDefinition<TData>, 'schema'> = {},
): EventDefinition<TData> {
  return definition;
}

interface RegisteredType {
  readonly schema?: StandardSchemaV1;
  readonly upcasters: readonly Upcaster[];
  readonly currentVersion: number;
}

/** An event as the registry sees it on read: its type, its stored schema version and raw data. */
export interface RawEvent {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
}

/** What the registry returns for an event about to be written. */
export interface EncodedEvent {
  readonly data: unknown;
  readonly schemaVersion: number;
}

/**
 * Maps each event `type` to its schema and upcaster chain: the specification's `EventDeserializer`.
 * Stores given a registry reject unknown types and invalid data on append, and upcast old events
 * on read so that every reader sees the newest shape.
 *
 * @example
 * const registry = new EventRegistry()
 *   .register('AccountOpened', typed<{ owner: string }>())
 *   .register('MoneyDeposited', {
 *     schema: depositSchema, // any Standard Schema: zod, valibot, arktype...
 *     upcasters: [(v1) => ({ amount: Number((v1 as { amt: string }).amt) })],
 *   });
 * type AccountEvent = EventOf<typeof registry>;
 */
export class EventRegistry<E extends DomainEvent = never> {
  readonly #types: ReadonlyMap<string, RegisteredType>;

  constructor(types: ReadonlyMap<string, RegisteredType> = new Map()) {
    this.#types = types;
  }

  /** Returns a new registry that also knows `type`. Registering a type twice is an error. */
  register<TType extends string, TData>(
    type: TType,
    definition: EventDefinition<TData>,
  ): EventRegistry<E | DomainEvent<TType, TData>> {
    if (typeof type !== 'string' || type.length === 0) {
      throw new InvalidArgumentError('event type', 'must be a non-empty string.');
    }
    if (this.#types.has(type)) {
      throw new InvalidArgumentError('event type', `"${type}" is already registered.`);
    }
    const upcasters = definition.upcasters ?? [];
    const next = new Map(this.#types);
    next.set(type, { schema: definition.schema, upcasters, currentVersion: upcasters.length + 1 });
    return new EventRegistry(next);
  }

  /** The event types this registry knows. */
  get types(): readonly string[] {
    return [...this.#types.keys()];
  }

  has(type: string): boolean {
    return this.#types.has(type);
  }

  /** The schema version new events of `type` are written at. */
  currentVersion(type: string): number {
    return this.#lookup(type).currentVersion;
  }

  /** Checks an event before it is written. Throws `UnknownEventTypeError` or `EventValidationError`. */
  encode(type: string, data: unknown, schemaVersion?: number): EncodedEvent {
    const registered = this.#lookup(type);
    const version = schemaVersion ?? registered.currentVersion;
    if (version !== registered.currentVersion) {
      throw new UnknownEventTypeError(
        type,
        version,
        `Event "${type}" must be appended at its current schema version ${registered.currentVersion}, ` +
          `not ${version}: old shapes are only read (and upcast), never written.`,
      );
    }
    return { data: validate(type, registered.schema, data), schemaVersion: version };
  }

  /** Upcasts stored data to the current shape and validates it. */
  decode(event: RawEvent): EncodedEvent {
    const registered = this.#lookup(event.type);
    const from = event.schemaVersion;
    if (!Number.isInteger(from) || from < 1 || from > registered.currentVersion) {
      throw new UnknownEventTypeError(
        event.type,
        from,
        `Event "${event.type}" was stored at schema version ${from}, but this registry knows versions ` +
          `1..${registered.currentVersion}. Was it written by newer code? Deploy the newer registry.`,
      );
    }
    let data = event.data;
    for (let step = from - 1; step < registered.upcasters.length; step++) {
      data = registered.upcasters[step]!(data);
    }
    return { data: validate(event.type, registered.schema, data), schemaVersion: registered.currentVersion };
  }

  #lookup(type: string): RegisteredType {
    const registered = this.#types.get(type);
    if (!registered) throw new UnknownEventTypeError(type);
    return registered;
  }
}

/** The event union a registry describes. */
export type EventOf<R> = R extends EventRegistry<infer E> ? E : never;

function validate(type: string, schema: StandardSchemaV1 | undefined, data: unknown): unknown {
  if (!schema) return data;
  const result = schema['~standard'].validate(data);
  if (result instanceof Promise) {
    throw new InvalidArgumentError(
      `schema of event "${type}"`,
      'it validates asynchronously; event schemas must validate synchronously.',
    );
  }
  if (result.issues) {
    throw new EventValidationError(
      type,
      result.issues.map((issue) => ({
        message: issue.message,
        path: issue.path?.map((segment) =>
          typeof segment === 'object' && segment !== null ? segment.key : segment,
        ),
      })),
    );
  }
  return result.value;
}
