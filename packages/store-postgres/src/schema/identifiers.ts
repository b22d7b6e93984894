import { InvalidArgumentError } from '@es/core';

// Schema and table names come from configuration and end up in SQL text, so they are checked
// against a strict pattern and then quoted anyway (invariant 5 in docs/invariants.md).
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOWER_CASE = /^[a-z_][a-z0-9_]*$/;

/** Longest schema name accepted: PostgreSQL truncates identifiers at 63 bytes. */
export const MAX_SCHEMA_NAME_LENGTH = 63;

/**
 * Longest event table name accepted. Shorter than 63 because the store derives other names from
 * it (`<table>_append`, `<table>_type_position_idx`), which must fit in 63 bytes too.
 */
export const MAX_TABLE_NAME_LENGTH = 40;

/**
 * Checks a schema or table name from configuration: lower-case ASCII letters, digits and `_`, not
 * starting with a digit, not starting with `pg_` (reserved by PostgreSQL). Throws
 * `InvalidArgumentError` before any SQL is built, so a hostile name never reaches the database.
 * Upper case is refused because PostgreSQL folds unquoted names to lower case: the store quotes
 * its names, so `Billing` would be a second schema beside the `billing` that psql, migrations and
 * other tools reach when they type Billing.
 */
export function assertSqlIdentifier(
  value: unknown,
  argument: string,
  maxLength = MAX_SCHEMA_NAME_LENGTH,
): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(
      argument,
      `expected a string, got ${value === null ? 'null' : typeof value}; leave the option out to use the default.`,
    );
  }
  if (!IDENTIFIER.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new InvalidArgumentError(
      argument,
      `${shown} is not a plain SQL identifier; use ASCII letters, digits and "_", not starting with a digit.`,
    );
  }
  if (!LOWER_CASE.test(value)) {
    throw new InvalidArgumentError(
      argument,
      `${JSON.stringify(value)} has upper-case letters; use ${JSON.stringify(value.toLowerCase())}. PostgreSQL ` +
        'folds unquoted names to lower case, so a name differing only in case would be a second, different object.',
    );
  }
  if (value.length > maxLength) {
    throw new InvalidArgumentError(
      argument,
      `must be at most ${maxLength} characters (got ${value.length}).`,
    );
  }
  if (value.startsWith('pg_')) {
    throw new InvalidArgumentError(argument, `"${value}" starts with "pg_", which PostgreSQL reserves.`);
  }
}

/**
 * A name option: left out (`undefined`) means the default; anything else, `null` included, is used
 * as given and checked, so a wrong value is refused instead of silently replaced by the default.
 */
export function optionOr(value: unknown, fallback: string): unknown {
  return value === undefined ? fallback : value;
}

/** Quotes an identifier for SQL text: `events` → `"events"`, doubling any embedded quote. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The validated, quoted names one event store uses inside its schema. */
export interface StoreNames {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`. */
  readonly qualifiedTable: string;
  /** `"schema"."table_append"`: the append function created by migration 001. */
  readonly appendFunction: string;
  /** `"schema"."table_eras"`: which cluster wrote which span of the global log (migration 005). */
  readonly erasTable: string;
}

/** Validates `schema` and `table` and derives every SQL name the store uses. */
export function storeNames(schema: unknown, table: unknown): StoreNames {
  assertSqlIdentifier(schema, 'schema', MAX_SCHEMA_NAME_LENGTH);
  assertSqlIdentifier(table, 'table', MAX_TABLE_NAME_LENGTH);
  const quotedSchema = quoteIdentifier(schema);
  return {
    schema,
    table,
    qualifiedTable: `${quotedSchema}.${quoteIdentifier(table)}`,
    appendFunction: `${quotedSchema}.${quoteIdentifier(`${table}_append`)}`,
    erasTable: `${quotedSchema}.${quoteIdentifier(`${table}_eras`)}`,
  };
}
