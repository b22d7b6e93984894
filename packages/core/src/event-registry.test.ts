import { describe, expect, it } from '@jest/globals';
import { EventValidationError, InvalidArgumentError, UnknownEventTypeError } from './errors.js';
import { EventRegistry, typed } from './event-registry.js';
import type { StandardSchemaV1 } from './standard-schema.js';

const nonEmptyName: StandardSchemaV1<unknown, { name: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => {
      const name = (value as { name?: unknown })?.name;
      return typeof name === 'string' && name.length > 0
        ? { value: { name: name.trim() } }
        : { issues: [{ message: 'required', path: [{ key: 'name' }] }] };
    },
  },
};

const registry = new EventRegistry().register('Renamed', { schema: nonEmptyName }).register(
  'Priced',
  typed<{ cents: number; currency: string }>({
    upcasters: [
      (v1) => ({ cents: (v1 as { price: number }).price * 100 }),
      (v2) => ({ ...(v2 as object), currency: 'EUR' }),
    ],
  }),
);

describe('EventRegistry', () => {
  it('writes at the current schema version and validates through the schema', () => {
    expect(registry.encode('Renamed', { name: ' Ada ' })).toEqual({
      data: { name: 'Ada' },
      schemaVersion: 1,
    });
    expect(registry.currentVersion('Priced')).toBe(3);
    expect(registry.encode('Priced', { cents: 5, currency: 'USD' }).schemaVersion).toBe(3);
  });

  it('refuses invalid data with the field path', () => {
    expect(() => registry.encode('Renamed', { name: '' })).toThrow(EventValidationError);
    expect(() => registry.encode('Renamed', {})).toThrow('name: required');
  });

  it('refuses unknown types and writing an old schema version', () => {
    expect(() => registry.encode('Nope', {})).toThrow(UnknownEventTypeError);
    expect(() => registry.encode('Priced', { price: 1 }, 1)).toThrow(/current schema version 3/);
  });

  it('upcasts each old version through the rest of the chain', () => {
    expect(registry.decode({ type: 'Priced', schemaVersion: 1, data: { price: 2 } })).toEqual({
      data: { cents: 200, currency: 'EUR' },
      schemaVersion: 3,
    });
    expect(registry.decode({ type: 'Priced', schemaVersion: 2, data: { cents: 7 } }).data).toEqual({
      cents: 7,
      currency: 'EUR',
    });
    expect(
      registry.decode({ type: 'Priced', schemaVersion: 3, data: { cents: 1, currency: 'USD' } }).data,
    ).toEqual({
      cents: 1,
      currency: 'USD',
    });
  });

  it('refuses to read a version newer than it knows', () => {
    expect(() => registry.decode({ type: 'Priced', schemaVersion: 4, data: {} })).toThrow(/newer code/);
  });

  it('is immutable: register returns a new registry, and a type registers once', () => {
    const base = new EventRegistry();
    const extended = base.register('A', typed<{ a: number }>());
    expect(base.has('A')).toBe(false);
    expect(extended.types).toEqual(['A']);
    expect(() => extended.register('A', typed())).toThrow(InvalidArgumentError);
  });

  it('refuses asynchronous schemas with a clear error', () => {
    const asyncSchema: StandardSchemaV1 = {
      '~standard': { version: 1, vendor: 'test', validate: async (value) => ({ value }) },
    };
    const withAsync = new EventRegistry().register('A', { schema: asyncSchema });
    expect(() => withAsync.encode('A', {})).toThrow(/synchronously/);
  });
});
