import type { Position } from '@es/core';
import type { SqlSession } from '../connection/sql-executor.js';

// The shapes @es/replay's `ProjectionStore` and `ProjectionLock` expect, declared here so this
// package needs no dependency on @es/replay: TypeScript matches them structurally.

/** What a projection handler receives as context from `PostgresProjectionStore`: the batch's transaction. */
export type PostgresProjectionContext = SqlSession;

/** An event a projection parked (the same fields as @es/replay's `ParkedEvent`). */
export interface PostgresParkedEvent {
  readonly subscriptionId: string;
  readonly position: Position;
  readonly eventId: string;
  readonly streamId: string;
  readonly eventType: string;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: Date;
}

/** One batch in its transaction (the shape of @es/replay's `ProjectionBatch<SqlSession>`). */
export interface PostgresProjectionBatch {
  attempt(run: (context: PostgresProjectionContext) => Promise<void>): Promise<void>;
  park(event: PostgresParkedEvent): Promise<void>;
}

/** A held advisory lock (the shape of @es/replay's `ProjectionLease`). */
export interface PostgresProjectionLease {
  readonly lost: AbortSignal;
  release(): Promise<void>;
}
