import { EventStoreUnavailableError } from '@es/core';
import type { Db } from 'mongodb';

/** The fields of the server's `hello` reply that decide whether appends can run. */
export interface HelloReply {
  readonly setName?: unknown;
  readonly msg?: unknown;
  readonly maxWireVersion?: unknown;
}

// Wire version 8 = MongoDB 4.2: transactions on replica sets and sharded clusters, pipeline
// updates and $$NOW, all of which appends rely on.
const MIN_WIRE_VERSION = 8;

/**
 * Why the server cannot host the event store, or `undefined` when it can. Appends allocate global
 * positions inside multi-document transactions, which a standalone `mongod` does not offer.
 */
export function transactionSupportProblem(hello: HelloReply): string | undefined {
  const wire = typeof hello.maxWireVersion === 'number' ? hello.maxWireVersion : 0;
  if (wire < MIN_WIRE_VERSION) {
    return `the server is older than MongoDB 4.2 (wire version ${wire}); upgrade it`;
  }
  const replicaSet = typeof hello.setName === 'string' && hello.setName.length > 0;
  const router = hello.msg === 'isdbgrid';
  if (!replicaSet && !router) {
    return (
      'the server is a standalone mongod, which has no multi-document transactions; ' +
      'run it as a replica set (even a single node: `mongod --replSet rs0`, then `rs.initiate()`) ' +
      'and connect with `?replicaSet=rs0` or `?directConnection=true`'
    );
  }
  return undefined;
}

/** Throws `EventStoreUnavailableError` with the reason when the server cannot host the event store. */
export function assertTransactionSupport(hello: HelloReply): void {
  const problem = transactionSupportProblem(hello);
  if (problem) {
    throw new EventStoreUnavailableError(
      `MongoEventStore needs transactions to keep the global log gapless, but ${problem}.`,
    );
  }
}

// The server's answer when a command does not exist (`hello` before MongoDB 4.4.2).
const COMMAND_NOT_FOUND = 59;

/** Asks the server `hello` (`isMaster` on servers older than 4.4.2, which answer the same fields). */
export async function askHello(db: Db): Promise<HelloReply> {
  const admin = db.admin();
  return admin
    .command({ hello: 1 })
    .catch((error: { code?: unknown }) =>
      error?.code === COMMAND_NOT_FOUND ? admin.command({ isMaster: 1 }) : Promise.reject(error),
    );
}
