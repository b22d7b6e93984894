import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import * as adapter from './adapter.js';
import { assertValidSnapshot } from './adapter.js';
import { isEventSerializationError, isInvalidArgumentError } from './errors.js';
import type { Snapshot } from './snapshot.js';

const snapshot = (overrides: Partial<Snapshot> = {}): Snapshot => ({
  streamId: 'account-1',
  aggregateVersion: 3,
  snapshotVersion: 1,
  state: { balance: 10 },
  createdAt: new Date('2026-01-01T00:00:00Z'),
  ...overrides,
});

describe('@es/core/adapter', () => {
  it('exports the store-author kit and the limits', () => {
    expect(Object.keys(adapter).sort()).toEqual([
      'DEFAULT_BATCH_SIZE',
      'MAX_BATCH_SIZE',
      'MAX_ID_LENGTH',
      'MAX_JSON_DEPTH',
      'MAX_POSITION',
      'MAX_SCHEMA_VERSION',
      'MAX_TAGS_PER_EVENT',
      'STREAMLESS_STREAM_PREFIX',
      'assertEventType',
      'assertExpectedVersion',
      'assertJsonSerializable',
      'assertLeaseArguments',
      'assertPosition',
      'assertPositiveInteger',
      'assertSamePartitionCount',
      'assertStreamId',
      'assertTag',
      'assertTagList',
      'assertValidSnapshot',
      'assertVersionNumber',
      'decodeStoredEvent',
      'matchesEventQuery',
      'prepareAppend',
      'prepareAppendCondition',
      'prepareConditionalAppend',
      'prepareEventQuery',
      'readAllOptions',
      'readByTypeArguments',
      'readQueryArguments',
      'readStreamArguments',
      'resolveRetriedAppend',
    ]);
  });
});

describe('assertValidSnapshot', () => {
  it('accepts a valid snapshot, null state and the largest 32-bit versions', () => {
    expect(() => assertValidSnapshot(snapshot())).not.toThrow();
    expect(() => assertValidSnapshot(snapshot({ state: null }))).not.toThrow();
    expect(() =>
      assertValidSnapshot(snapshot({ aggregateVersion: 2 ** 31 - 1, snapshotVersion: 2 ** 31 - 1 })),
    ).not.toThrow();
  });

  it.each<[string, unknown]>([
    ['not an object', null],
    ['an empty stream id', snapshot({ streamId: '' })],
    ['a zero aggregateVersion', snapshot({ aggregateVersion: 0 })],
    ['a fractional snapshotVersion', snapshot({ snapshotVersion: 1.5 })],
    ['an aggregateVersion past 2^31 - 1', snapshot({ aggregateVersion: 2 ** 31 })],
    ['a snapshotVersion past 2^31 - 1', snapshot({ snapshotVersion: 2 ** 31 })],
    ['an invalid createdAt', snapshot({ createdAt: new Date(Number.NaN) })],
    ['a createdAt that is not a Date', snapshot({ createdAt: '2026-01-01' as unknown as Date })],
    ['an undefined state', snapshot({ state: undefined })],
  ])('refuses %s with InvalidArgumentError', (_, value) => {
    let caught: unknown;
    try {
      assertValidSnapshot(value as Snapshot);
    } catch (error) {
      caught = error;
    }
    expect(isInvalidArgumentError(caught)).toBe(true);
  });

  it('refuses a state that is not plain JSON with EventSerializationError', () => {
    let caught: unknown;
    try {
      assertValidSnapshot(snapshot({ state: { at: new Date() } }));
    } catch (error) {
      caught = error;
    }
    expect(isEventSerializationError(caught)).toBe(true);
  });
});

describe('@es/core and @es/core/adapter as published', () => {
  // Loads the built package by its name through its exports map, as a CommonJS user would.
  it('share one copy of the error classes, which keep their names', () => {
    const script = `
      const main = require('@es/core');
      const adapter = require('@es/core/adapter');
      let caught;
      try { adapter.assertStreamId(''); } catch (error) { caught = error; }
      const conflict = new main.ConcurrencyConflictError('s', 1, 2);
      console.log(JSON.stringify([caught instanceof main.InvalidArgumentError, caught.name, conflict.name]));
    `;
    const output = execFileSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toEqual([true, 'InvalidArgumentError', 'ConcurrencyConflictError']);
  });
});
