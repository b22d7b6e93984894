import {
  ConcurrencyConflictError,
  EventStoreUnavailableError,
  InvalidArgumentError,
  isConcurrencyConflictError,
  isEventSerializationError,
  isEventStoreUnavailableError,
} from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { BSON, Int32, MongoInvalidArgumentError, MongoNetworkError, MongoServerError } from 'mongodb';
import {
  conflictFromDuplicateKey,
  duplicateKeyCollection,
  duplicateKeyIndex,
  isDuplicateKeyError,
  isTransientTransactionError,
  wrapDriverError,
} from './mongo-errors.js';

// Errors shaped as the server sends them (the driver builds MongoServerError from the reply).
const duplicate = (index: string) =>
  new MongoServerError({
    ok: 0,
    code: 11000,
    codeName: 'DuplicateKey',
    errmsg: `E11000 duplicate key error collection: test.events index: ${index} dup key: { streamId: "s", version: 3 }`,
    keyPattern: { streamId: 1, version: 1 },
    keyValue: { streamId: 's', version: 3 },
  });

describe('duplicate-key errors', () => {
  it('are recognised, with the index they hit', () => {
    const error = duplicate('stream_version');
    expect(isDuplicateKeyError(error)).toBe(true);
    expect(duplicateKeyIndex(error)).toBe('stream_version');
    expect(isDuplicateKeyError(new MongoServerError({ ok: 0, code: 112, errmsg: 'WriteConflict' }))).toBe(
      false,
    );
    expect(isDuplicateKeyError({ writeErrors: [{ code: 11000 }] })).toBe(true);
  });

  it('name the collection they were raised on, so a counter duplicate is not taken for an event one', () => {
    expect(duplicateKeyCollection(duplicate('_id_'))).toBe('events');
    const counter = new MongoServerError({
      ok: 0,
      code: 11000,
      errmsg:
        'E11000 duplicate key error collection: shop.events_positions index: _id_ dup key: { _id: "position" }',
    });
    expect(duplicateKeyCollection(counter)).toBe('events_positions');
    expect(duplicateKeyCollection(new MongoServerError({ ok: 0, code: 11000, errmsg: 'E11000' }))).toBe(
      undefined,
    );
  });

  it('are recognised when the reply was read with promoteValues: false (the code is an Int32)', () => {
    // The store reads with RAW_READ; the driver builds the error from the reply with those options.
    const raw = new MongoServerError({
      ok: new Int32(0),
      code: new Int32(11000),
      errmsg:
        'E11000 duplicate key error collection: es.events_positions index: _id_ dup key: { _id: "position" }',
    } as unknown as ConstructorParameters<typeof MongoServerError>[0]);
    expect(isDuplicateKeyError(raw)).toBe(true);
    const tooLarge = new MongoServerError({
      ok: new Int32(0),
      code: new Int32(10334),
      errmsg: 'BSONObj size: 17000000 is too large',
    } as unknown as ConstructorParameters<typeof MongoServerError>[0]);
    expect(isEventSerializationError(wrapDriverError(tooLarge, 'append'))).toBe(true);
  });

  it('become a ConcurrencyConflictError with the actual version and the driver error as cause', () => {
    const cause = duplicate('stream_version');
    const error = conflictFromDuplicateKey(cause, 's', 2, 3);
    expect(error).toBeInstanceOf(ConcurrencyConflictError);
    expect(isConcurrencyConflictError(error)).toBe(true);
    expect(error).toMatchObject({ streamId: 's', expectedVersion: 2, actualVersion: 3 });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('stream_version');
    expect(conflictFromDuplicateKey(duplicate('stream_event_id'), 's', 'any', 3).message).toContain(
      'event ids',
    );
  });
});

describe('wrapDriverError', () => {
  it('wraps a network error as EventStoreUnavailableError, keeping the cause', () => {
    const cause = new MongoNetworkError('connection reset');
    const error = wrapDriverError(cause, 'getEvents');
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect(isEventStoreUnavailableError(error)).toBe(true);
    expect(error.message).toContain('getEvents');
    expect(error.cause).toBe(cause);
  });

  it('turns an oversized document into EventSerializationError', () => {
    const cause = new MongoServerError({ ok: 0, code: 10334, errmsg: 'BSONObj size: 17000000 is too large' });
    expect(isEventSerializationError(wrapDriverError(cause, 'append'))).toBe(true);
  });

  it('turns every BSON serialization error into EventSerializationError, never a retryable one', () => {
    const failures = [
      () => BSON.serialize({ data: { _bsontype: 'Long' } }), // BSONVersionError
      () => BSON.serialize({ 'nul\u0000key': 1 }), // BSONError
    ];
    for (const fail of failures) {
      let cause: unknown;
      try {
        fail();
      } catch (error) {
        cause = error;
      }
      expect(BSON.BSONError.isBSONError(cause)).toBe(true);
      const error = wrapDriverError(cause, 'append');
      expect(isEventSerializationError(error)).toBe(true);
      expect(isEventStoreUnavailableError(error)).toBe(false);
      expect(error.cause).toBe(cause);
    }
  });

  it('turns the driver’s client-side "document is larger than the maximum size" into EventSerializationError', () => {
    // Raised by the driver inside insertMany before anything is sent; it carries no server code.
    const cause = new MongoInvalidArgumentError('Document is larger than the maximum size 16777216');
    const error = wrapDriverError(cause, 'append to stream "s"');
    expect(isEventSerializationError(error)).toBe(true);
    expect(isEventStoreUnavailableError(error)).toBe(false);
    expect(error.message).toMatch(/too large/i);
    expect(error.message).toContain('16 MB');
    expect(error.cause).toBe(cause);
  });

  it('passes the toolkit’s own errors through', () => {
    const own = new InvalidArgumentError('x', 'bad');
    expect(wrapDriverError(own, 'append')).toBe(own);
  });

  it('reads the transient-transaction label', () => {
    const error = new MongoServerError({ ok: 0, code: 112, errmsg: 'WriteConflict' });
    expect(isTransientTransactionError(error)).toBe(false);
    error.addErrorLabel('TransientTransactionError');
    expect(isTransientTransactionError(error)).toBe(true);
  });
});

describe('wrapDriverError: errors an operator must fix', () => {
  const server = (code: number, errmsg: string) => new MongoServerError({ ok: 0, code, errmsg });

  it('maps refused credentials (18), a missing role (13) and a missing collection or index (26, 27) to their own errors', async () => {
    const core = await import('@es/core');
    const cases = [
      [server(18, 'Authentication failed.'), core.isStoreAuthenticationError],
      [server(13, 'not authorized on es to execute command'), core.isStorePermissionDeniedError],
      [server(26, 'ns does not exist'), core.isStoreNotMigratedError],
      [server(27, 'index not found with name [type_position]'), core.isStoreNotMigratedError],
      [server(2, 'hint provided does not correspond to an existing index'), core.isStoreNotMigratedError],
    ] as const;
    for (const [cause, guard] of cases) {
      const error = wrapDriverError(cause, 'getEvents');
      expect(guard(error)).toBe(true);
      expect(isEventStoreUnavailableError(error)).toBe(false);
      expect(error.cause).toBe(cause);
    }
    // Other server errors are still "unavailable".
    expect(
      isEventStoreUnavailableError(wrapDriverError(server(2, 'some other bad value'), 'getEvents')),
    ).toBe(true);
  });
});
