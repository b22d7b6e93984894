import { isInvalidArgumentError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { assertCollectionName, assertDatabaseName } from './names.js';

const refused = (fn: () => void): boolean => {
  try {
    fn();
    return false;
  } catch (error) {
    return isInvalidArgumentError(error);
  }
};

describe('database and collection names', () => {
  it.each(['events', 'es_events', 'tenant-1.events', '_private', 'a'.repeat(100)])(
    'accepts collection %s',
    (name) => {
      expect(refused(() => assertCollectionName(name))).toBe(false);
    },
  );

  it.each([
    '',
    'a'.repeat(101),
    'system.users',
    '$cmd',
    'events$x',
    'a..b',
    'trailing.',
    '.leading',
    'has space',
    'nul\u0000',
    '1events',
    { $gt: '' },
    42,
  ])('refuses collection %p', (name) => {
    expect(refused(() => assertCollectionName(name))).toBe(true);
  });

  it.each(['eventstore', 'shop_prod', 'tenant-7', 'A1'])('accepts database %s', (name) => {
    expect(refused(() => assertDatabaseName(name))).toBe(false);
  });

  it.each(['', 'a'.repeat(64), 'a.b', 'a/b', 'a b', 'a$b', 'a"b', 'nul\u0000', null, ['x']])(
    'refuses database %p',
    (name) => {
      expect(refused(() => assertDatabaseName(name))).toBe(true);
    },
  );
});
