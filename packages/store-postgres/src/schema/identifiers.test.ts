import { isInvalidArgumentError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { assertSqlIdentifier, quoteIdentifier, storeNames } from './identifiers.js';

const hostile = [
  'events"; DROP TABLE users; --',
  'public.events',
  'a b',
  '1events',
  '',
  'ünï',
  'x'.repeat(64),
  'pg_catalog',
  'events\u0000',
];

describe('schema and table names', () => {
  it.each(hostile)('refuses %j with InvalidArgumentError', (name) => {
    let caught: unknown;
    try {
      assertSqlIdentifier(name, 'schema');
    } catch (error) {
      caught = error;
    }
    expect(isInvalidArgumentError(caught)).toBe(true);
  });

  it('refuses non-strings', () => {
    expect(() => assertSqlIdentifier(42, 'schema')).toThrow(/schema/);
    expect(() => assertSqlIdentifier({ toString: () => 'x' }, 'schema')).toThrow(/schema/);
  });

  it('accepts plain identifiers and derives quoted names', () => {
    const names = storeNames('billing_2', 'events');
    expect(names.qualifiedTable).toBe('"billing_2"."events"');
    expect(names.appendFunction).toBe('"billing_2"."events_append"');
  });

  it('refuses upper case, naming the lower-case name to use instead', () => {
    // PostgreSQL folds unquoted names: "Billing" would be a second schema beside billing.
    expect(() => storeNames('Billing', 'events')).toThrow(/upper-case.*"billing".*folds unquoted names/);
    expect(() => storeNames('billing', 'Events')).toThrow(/Invalid table/);
    expect(() => assertSqlIdentifier('PG_x', 'schema')).toThrow(/upper-case/);
  });

  it('refuses null with a message that says to leave the option out', () => {
    expect(() => storeNames(null, 'events')).toThrow(
      /Invalid schema: expected a string, got null; leave the option out/,
    );
    expect(() => storeNames('public', null)).toThrow(/Invalid table: expected a string, got null/);
  });

  it('limits table names so that derived names fit in 63 bytes', () => {
    expect(() => storeNames('s', 'e'.repeat(41))).toThrow(/at most 40/);
    expect(storeNames('s', 'e'.repeat(40)).table).toHaveLength(40);
  });

  it('quotes by doubling embedded quotes', () => {
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});
