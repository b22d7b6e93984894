import { quoteIdentifier, type StoreNames } from '../schema/identifiers.js';

/** The SQL names of migration 007 for one event table. */
export interface DcbFunctionNames {
  /** `"schema"."table_lock"`: takes an append's advisory locks, in key order. */
  readonly lockFunction: string;
  /** `"schema"."table_append_if"`: the append function with tags, locks and a condition. */
  readonly appendIfFunction: string;
}

const cache = new WeakMap<StoreNames, DcbFunctionNames>();

/** The names of the functions migration 007 creates next to `names.qualifiedTable`. */
export function dcbFunctionNames(names: StoreNames): DcbFunctionNames {
  let cached = cache.get(names);
  if (!cached) {
    const schema = quoteIdentifier(names.schema);
    cached = {
      lockFunction: `${schema}.${quoteIdentifier(`${names.table}_lock`)}`,
      appendIfFunction: `${schema}.${quoteIdentifier(`${names.table}_append_if`)}`,
    };
    cache.set(names, cached);
  }
  return cached;
}

/**
 * The writer locks of an append that does not go through the append function (an INSERT at an
 * exact version), as an uncorrelated scalar sub-query: PostgreSQL evaluates it once, before the
 * statement inserts a row. SHARED on the stream, on each tag and on each type written (see
 * docs/dcb.md): a conditional append whose condition these events match waits for this append
 * to commit, or this append waits for it. `streamParam`, `tagsParam` and `typesParam` are the
 * statement's placeholders (text, text[], text[]).
 */
export function writerLocksSql(
  names: StoreNames,
  streamParam: string,
  tagsParam: string,
  typesParam: string,
): string {
  return `(SELECT ${dcbFunctionNames(names).lockFunction}(${streamParam}::text, false, ${tagsParam}::text[],
            ${typesParam}::text[], NULL, NULL))`;
}

/** The distinct tags and types of a batch: the keys its writer locks (see {@link writerLocksSql}). */
export function batchLockKeys(
  events: readonly { readonly type: string; readonly tags: readonly string[] }[],
): {
  tags: string[];
  types: string[];
} {
  if (events.length === 1) {
    const [event] = events;
    return { tags: [...event!.tags], types: [event!.type] };
  }
  const tags = new Set<string>();
  const types = new Set<string>();
  for (const event of events) {
    types.add(event.type);
    for (const tag of event.tags) tags.add(tag);
  }
  return { tags: [...tags], types: [...types] };
}
