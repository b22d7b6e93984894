import { isEventStoreUnavailableError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { Int32, Long } from 'mongodb';
import { assertTransactionSupport, transactionSupportProblem, wireVersionOf } from './topology.js';

describe('transaction support', () => {
  it('accepts a replica-set member and a mongos router', () => {
    expect(transactionSupportProblem({ setName: 'rs0', maxWireVersion: 21 })).toBeUndefined();
    expect(transactionSupportProblem({ msg: 'isdbgrid', maxWireVersion: 17 })).toBeUndefined();
  });

  it('refuses a standalone server, saying how to start a replica set', () => {
    const problem = transactionSupportProblem({ maxWireVersion: 21 });
    expect(problem).toContain('standalone');
    expect(problem).toContain('--replSet');
    let error: unknown;
    try {
      assertTransactionSupport({ maxWireVersion: 21 });
    } catch (e) {
      error = e;
    }
    expect(isEventStoreUnavailableError(error)).toBe(true);
  });

  it('refuses a server older than 4.2', () => {
    expect(transactionSupportProblem({ setName: 'rs0', maxWireVersion: 7 })).toContain('4.2');
  });
});

describe('the hello reply, whatever BSON widths it arrives in', () => {
  it('reads a wire version sent as Int32 or Long (a reply read with promoteValues: false)', () => {
    expect(transactionSupportProblem({ setName: 'rs0', maxWireVersion: new Int32(21) })).toBeUndefined();
    expect(
      transactionSupportProblem({ setName: 'rs0', maxWireVersion: Long.fromNumber(25) }),
    ).toBeUndefined();
    expect(wireVersionOf({ maxWireVersion: new Int32(7) })).toBe(7);
  });
});
