// Helpers for the tests of projections (@es/replay's Projection) on PostgreSQL: a small account
// domain and a read model written in the projection's transaction. Not part of the published API.
import { randomBytes } from 'node:crypto';
import type { DomainEvent, NewEvent, StoredEvent } from '@es/core';
import type { SqlSession } from '../connection/sql-executor.js';

/** The events of the accounts these tests project. */
export type AccountEvent =
  | DomainEvent<'Opened', { owner: string }>
  | DomainEvent<'Deposited', { amount: number }>
  | DomainEvent<'Withdrawn', { amount: number }>;

/** An account opened by `owner`. */
export const opened = (owner = 'Ada'): NewEvent<AccountEvent> => ({ type: 'Opened', data: { owner } });

/** A deposit of `amount`. */
export const deposited = (amount: number): NewEvent<AccountEvent> => ({
  type: 'Deposited',
  data: { amount },
});

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A schema name no other test uses. */
export const uniqueSchema = (prefix = 'es_replay'): string => `${prefix}_${randomBytes(6).toString('hex')}`;

/** The read model: one row per event handled (PK = position, so a duplicate cannot commit) and balances. */
export const readModelDdl = (schema: string, suffix = ''): string => `
  CREATE TABLE "${schema}".handled${suffix} (
    seq bigserial, position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream_id text NOT NULL);
  CREATE TABLE "${schema}".balances${suffix} (
    stream_id text PRIMARY KEY, balance bigint NOT NULL, version integer NOT NULL);`;

/** Applies one event to the read model inside the projection's transaction. */
export async function applyToReadModel(
  sql: SqlSession,
  schema: string,
  event: StoredEvent<AccountEvent>,
  suffix = '',
): Promise<void> {
  await sql.query({
    text: `INSERT INTO "${schema}".handled${suffix} (position, event_id, stream_id) VALUES ($1, $2, $3)`,
    values: [event.position.toString(), event.eventId, event.streamId],
  });
  const amount = event.type === 'Deposited' ? event.data.amount : 0;
  await sql.query({
    text: `INSERT INTO "${schema}".balances${suffix} (stream_id, balance, version) VALUES ($1, $2, $3)
           ON CONFLICT (stream_id) DO UPDATE SET balance = balances${suffix}.balance + $2, version = $3
           WHERE balances${suffix}.version = $3 - 1`,
    values: [event.streamId, amount, event.version],
  });
}
