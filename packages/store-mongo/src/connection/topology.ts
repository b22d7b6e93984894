import { EventStoreUnavailableError, InvalidArgumentError } from '@es/core';
import type { Db, Timestamp } from 'mongodb';
import { integerOf } from '../events/bson-values.js';

/** The fields of the server's `hello` reply that decide whether appends can run. */
export interface HelloReply {
  readonly setName?: unknown;
  readonly msg?: unknown;
  readonly maxWireVersion?: unknown;
  /** A replica-set member's last write (`lastWrite.opTime.ts`): where a change stream can start. */
  readonly lastWrite?: { readonly opTime?: { readonly ts?: unknown } };
  /** The cluster time of the reply (a `mongos` sends it). */
  readonly operationTime?: unknown;
}

/**
 * The server's wire version as a number, whatever BSON width the reply carried it in (a client
 * read with `promoteValues: false` gets an Int32), 0 when it is missing.
 */
export function wireVersionOf(hello: HelloReply): number {
  const wire = integerOf(hello.maxWireVersion);
  return wire === undefined ? 0 : Number(wire);
}

/** True when the server is a `mongos` router, i.e. a sharded cluster. */
export function isShardedCluster(hello: HelloReply): boolean {
  return hello.msg === 'isdbgrid';
}

// Wire version 13 = MongoDB 5.0: reads with read concern "snapshot" outside transactions.
const SNAPSHOT_READS_WIRE_VERSION = 13;

/** A read concern of the position-ordered log reads. */
export type LogReadConcern = 'majority' | 'local' | 'snapshot';

/**
 * The read concern the log reads (`getAllEvents`, `getEventsByType`) use on this server: the one
 * configured, else `snapshot` on a sharded cluster and `majority` on a replica set. On a sharded
 * cluster an append that spans shards commits on each shard separately, and only a snapshot read
 * sees all of it or none of it, so a configured `majority` or `local` is refused there
 * (`InvalidArgumentError`), as is a sharded cluster or a `snapshot` read older than MongoDB 5.0
 * (`EventStoreUnavailableError`).
 */
export function logReadConcernFor(hello: HelloReply, configured: LogReadConcern | undefined): LogReadConcern {
  const sharded = isShardedCluster(hello);
  const level = configured ?? (sharded ? 'snapshot' : 'majority');
  if (sharded && level !== 'snapshot') {
    throw new InvalidArgumentError(
      'logReadConcern',
      `"${level}" can skip events on a sharded cluster: an append that spans shards becomes visible ` +
        'on one shard before another, so a follower could read position p + 1 without p and move its ' +
        'checkpoint past p. Leave logReadConcern out (or set "snapshot") on a mongos.',
    );
  }
  if (level === 'snapshot' && wireVersionOf(hello) < SNAPSHOT_READS_WIRE_VERSION) {
    throw new EventStoreUnavailableError(
      `MongoEventStore reads the log with read concern "snapshot"${sharded ? ' on a sharded cluster' : ''}, ` +
        `which needs MongoDB 5.0 or later (the server reports wire version ${wireVersionOf(hello)}); ` +
        'upgrade the cluster.',
    );
  }
  return level;
}

/**
 * The time a change stream can start at so that it misses no later write: a replica-set member's
 * last write, or a mongos reply's operation time; `undefined` when the reply carries neither.
 */
export function operationTimeOf(hello: HelloReply): Timestamp | undefined {
  const candidate = hello.lastWrite?.opTime?.ts ?? hello.operationTime;
  return (candidate as { _bsontype?: unknown } | undefined)?._bsontype === 'Timestamp'
    ? (candidate as Timestamp)
    : undefined;
}

// Wire version 8 = MongoDB 4.2: transactions on replica sets and sharded clusters, pipeline
// updates and $$NOW, all of which appends rely on.
const MIN_WIRE_VERSION = 8;

/**
 * Why the server cannot host the event store, or `undefined` when it can. Appends allocate global
 * positions inside multi-document transactions, which a standalone `mongod` does not offer.
 */
export function transactionSupportProblem(hello: HelloReply): string | undefined {
  const wire = wireVersionOf(hello);
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
      integerOf(error?.code) === BigInt(COMMAND_NOT_FOUND)
        ? admin.command({ isMaster: 1 })
        : Promise.reject(error),
    );
}
