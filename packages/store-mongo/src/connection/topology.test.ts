import { isEventStoreUnavailableError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { assertTransactionSupport, transactionSupportProblem } from './topology.js';

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
