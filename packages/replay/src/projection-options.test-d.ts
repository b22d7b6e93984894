// Type-level tests, checked by `typecheck` (tsc): a handler that needs a context (a SQL session, a
// transaction) must come with a readModel (a ProjectionStore) that provides one.
import {
  type DomainEvent,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  type ProjectionStore,
  type StoredEvent,
} from '@es/core';
import { Projection } from './index.js';

interface SqlSessionLike {
  query(text: string): Promise<unknown[]>;
}
declare const sqlStore: ProjectionStore<SqlSessionLike>;
const eventStore = new InMemoryEventStore();
const needsSql = async (_event: StoredEvent, sql: SqlSessionLike) => {
  await sql.query('SELECT 1');
};

// A handler that needs a session, without a readModel: the session would be `undefined` at run time.
// @ts-expect-error -- no readModel provides the handler's context
new Projection({ name: 'a', eventStore, handler: needsSql });

// The same with checkpoints instead of a readModel.
// @ts-expect-error -- a CheckpointStore provides no context
new Projection({ name: 'b', eventStore, checkpoints: new InMemoryCheckpointStore(), handler: needsSql });

// Naming the context explicitly does not help either.
// @ts-expect-error -- still no readModel to provide it
new Projection<DomainEvent, SqlSessionLike>({ name: 'c', eventStore, handler: needsSql });

// The object form of a handler, too.
// @ts-expect-error -- no readModel provides the handler's context
new Projection({ name: 'd', eventStore, handler: { handleEvent: needsSql } });

// A readModel of another context does not fit.
declare const otherStore: ProjectionStore<{ other: true }>;
// @ts-expect-error -- the readModel's context is not the handler's
new Projection({ name: 'e', eventStore, readModel: otherStore, handler: needsSql });

// What compiles: the handler with the readModel that provides its context...
export const withStore: Projection<DomainEvent, SqlSessionLike> = new Projection({
  name: 'f',
  eventStore,
  readModel: sqlStore,
  handler: needsSql,
});
// ...a handler that takes no context, with or without a readModel...
new Projection({ name: 'g', eventStore, handler: (_event: StoredEvent) => undefined });
new Projection({ name: 'h', eventStore, readModel: sqlStore, handler: (_event: StoredEvent) => undefined });
new Projection({
  name: 'i',
  eventStore,
  checkpoints: new InMemoryCheckpointStore(),
  handler: async () => {},
});
// ...and the context is inferred from the readModel, so the handler's parameter needs no annotation.
new Projection({
  name: 'j',
  eventStore,
  readModel: sqlStore,
  handler: async (_event, sql) => {
    await sql.query('SELECT 1');
  },
});
// The old name of `readModel` is gone.
// @ts-expect-error -- `store` was renamed `readModel`
new Projection({ name: 'k', eventStore, store: sqlStore, handler: needsSql });
