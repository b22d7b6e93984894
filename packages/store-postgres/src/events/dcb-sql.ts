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
 * The most tags and types an append may write for {@link writerLocksSql}; past it, migration 007's
 * lock function takes one EXCLUSIVE coarse key instead, and the append goes through the append
 * function, which does that.
 */
export const MAX_INLINE_WRITER_KEYS = 64;

/**
 * The writer locks of an append that does not go through the append function (an INSERT at an
 * exact version), as an uncorrelated scalar sub-query: PostgreSQL evaluates it once, before the
 * statement inserts a row. SHARED on the stream, on each tag and on each type written, and on the
 * coarse condition key, in key order (see docs/dcb.md): a conditional append whose condition these
 * events match waits for this append to commit, or this append waits for it. The keys are those of
 * migration 007's `<table>_lock(stream, false, tags, types, NULL, NULL)` for at most
 * {@link MAX_INLINE_WRITER_KEYS} tags and types, computed here in plain SQL: a call of the
 * PL/pgSQL function cost a third of the throughput of concurrent single-event appends.
 * `streamParam`, `tagsParam` and `typesParam` are the statement's placeholders (text, text[],
 * text[]); with `streamsArray`, `streamParam` is a text[] of streams (a coalesced batch's), each
 * locked SHARED as one append's stream is.
 */
export function writerLocksSql(
  names: StoreNames,
  streamParam: string,
  tagsParam: string,
  typesParam: string,
  streamsArray = false,
): string {
  // Migration 007's seed: hashtext('<schema>.<table>'); both are plain identifiers (storeNames).
  const seed = `hashtext('${names.schema}.${names.table}')`;
  // Sorted in a sub-query, then locked row by row in that order (never in a cycle with a
  // conditional append, which takes its EXCLUSIVE keys in the same order). A stream id and a tag
  // with the same text share a key, as in 007.
  return `((SELECT count(*) FROM (
             SELECT pg_advisory_xact_lock_shared(sorted.k)
             FROM (SELECT DISTINCT keys.k
                   FROM (SELECT hashtextextended(x, ${seed}) FROM unnest(${tagsParam}::text[] || ${streamParam}::${streamsArray ? 'text[]' : 'text'}) x
                         UNION ALL SELECT hashtextextended(x, ${seed} + 1) FROM unnest(${typesParam}::text[]) x
                         UNION ALL SELECT hashtextextended('many condition keys', ${seed} + 2)) keys(k)
                   ORDER BY keys.k) sorted) locked) > 0)`;
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
