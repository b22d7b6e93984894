import { describe, expect, it } from '@jest/globals';
import {
  ConcurrencyConflictError,
  ErrorCode,
  EventStoreUnavailableError,
  isConcurrencyConflictError,
  isEventSourcingError,
  isEventStoreUnavailableError,
  StreamNotFoundError,
} from './errors.js';

describe('errors', () => {
  it('carry a stable code, a name and a message that says what to do', () => {
    const error = new ConcurrencyConflictError('account-1', 3, 5, 'the stream is at version 5');
    expect(error.code).toBe(ErrorCode.ConcurrencyConflict);
    expect(error.name).toBe('ConcurrencyConflictError');
    expect(error.message).toContain('account-1');
    expect(error.message).toContain('expected version 3');
    expect(error.message).toContain('actual version 5');
    expect(error.message).toMatch(/retry/);
    expect(error).toBeInstanceOf(Error);
  });

  it('guards recognise errors from another copy of the package by brand and code', () => {
    // What a second installed copy of @es/core would throw: same brand and code, different class.
    const foreign = Object.assign(new Error('conflict'), {
      code: ErrorCode.ConcurrencyConflict,
      [Symbol.for('@es/core/error')]: true,
    });
    expect(foreign).not.toBeInstanceOf(ConcurrencyConflictError);
    expect(isConcurrencyConflictError(foreign)).toBe(true);
    expect(isEventSourcingError(foreign)).toBe(true);
  });

  it('guards reject look-alikes without the brand, and other codes', () => {
    expect(isConcurrencyConflictError({ code: ErrorCode.ConcurrencyConflict })).toBe(false);
    expect(isConcurrencyConflictError(new StreamNotFoundError('s'))).toBe(false);
    expect(isConcurrencyConflictError(null)).toBe(false);
    expect(isConcurrencyConflictError('ES_CONCURRENCY_CONFLICT')).toBe(false);
  });

  it('keeps the driver error as cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new EventStoreUnavailableError('connection lost during append', { cause });
    expect(error.cause).toBe(cause);
    expect(isEventStoreUnavailableError(error)).toBe(true);
  });
});

describe('lifecycle and operator errors', () => {
  it('each has its own stable code and guard, and none is "unavailable"', async () => {
    const errors = await import('./errors.js');
    const cases = [
      [new errors.StoreClosedError('PostgresEventStore'), errors.isStoreClosedError, 'ES_STORE_CLOSED'],
      [
        new errors.StorePermissionDeniedError('no'),
        errors.isStorePermissionDeniedError,
        'ES_STORE_PERMISSION_DENIED',
      ],
      [
        new errors.StoreAuthenticationError('no'),
        errors.isStoreAuthenticationError,
        'ES_STORE_AUTHENTICATION_FAILED',
      ],
      [
        new errors.StoreDatabaseNotFoundError('no'),
        errors.isStoreDatabaseNotFoundError,
        'ES_STORE_DATABASE_NOT_FOUND',
      ],
      [new errors.StoreNotMigratedError('no'), errors.isStoreNotMigratedError, 'ES_STORE_NOT_MIGRATED'],
    ] as const;
    for (const [error, guard, code] of cases) {
      expect(error.code).toBe(code);
      expect(guard(error)).toBe(true);
      expect(isEventStoreUnavailableError(error)).toBe(false);
      for (const [other, otherGuard] of cases) if (other !== error) expect(otherGuard(error)).toBe(false);
    }
    const closed = new errors.StoreClosedError('PostgresEventStore');
    expect(closed.message).toContain('PostgresEventStore is closed');
    expect(closed.message).not.toMatch(/retry/i);
  });
});
