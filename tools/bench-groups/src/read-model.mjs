// The benchmark's read model: a per-stream aggregate (events, sum of amounts, last version, a small
// digest) in one table, written the way a real read model batches its writes. The handler folds
// each event into the partition share's pending rows in memory; the share's rows are written with
// one multi-row upsert at the end of the share, in the batch's transaction, before the checkpoint
// moves (so the write stays exactly-once). ConsumerGroup gives a handler no end-of-batch hook, so
// the batching lives in a thin ProjectionStore wrapper around PostgresProjectionStore.

/** Creates the read-model table in `schema`. */
export async function createReadModelTable(pool, schema) {
  await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".bench_aggregates (
    group_name   text   NOT NULL,
    stream_id    text   NOT NULL,
    events       bigint NOT NULL,
    amount_sum   bigint NOT NULL,
    last_version int    NOT NULL,
    digest       int    NOT NULL,
    PRIMARY KEY (group_name, stream_id)
  )`);
}

/** How many events the group's read model counted (equals the events handled once each). */
export async function countedEvents(pool, schema, group) {
  const { rows } = await pool.query(
    `SELECT coalesce(sum(events), 0)::bigint AS n FROM "${schema}".bench_aggregates WHERE group_name = $1`,
    [group],
  );
  return Number(rows[0].n);
}

/** Folds one event into a pending row: the "small computation" of the CPU-light handler. */
export function fold(pending, event) {
  let row = pending.get(event.streamId);
  if (!row) {
    row = { events: 0, amount: 0, lastVersion: 0, digest: 0 };
    pending.set(event.streamId, row);
  }
  row.events += 1;
  row.amount += event.data.amount ?? 0;
  row.lastVersion = event.version;
  // A few dozen integer operations over the event id: cheap, but not free.
  let digest = row.digest;
  const id = event.eventId;
  for (let i = 0; i < id.length; i++) digest = Math.imul(digest ^ id.charCodeAt(i), 16777619) | 0;
  row.digest = digest;
}

/**
 * Wraps a PostgresProjectionStore: each batch's handler context is `{ sql, pending }`; the pending
 * rows are upserted at the end of the batch, in its transaction. `onCommitted(events)` is told the
 * events of each committed batch (for the live latency).
 */
export class BatchedReadModel {
  #inner;
  #table;
  #group;
  #onCommitted;

  constructor(inner, { schema, group, onCommitted }) {
    this.#inner = inner;
    this.#table = `"${schema}".bench_aggregates`;
    this.#group = group;
    this.#onCommitted = onCommitted;
  }

  load(id) {
    return this.#inner.load(id);
  }
  reset(id) {
    return this.#inner.reset(id);
  }
  listParked(id) {
    return this.#inner.listParked(id);
  }
  removeParked(id, position) {
    return this.#inner.removeParked(id, position);
  }
  close() {
    return this.#inner.close();
  }

  async commitBatch(id, expected, position, work, fence) {
    const handled = [];
    const committed = await this.#inner.commitBatch(
      id,
      expected,
      position,
      async (batch) => {
        const pending = new Map();
        let session;
        await work({
          // Each attempt stages its event in its own map, merged only when it succeeded, as the
          // savepoint of a failed attempt undoes its SQL.
          attempt: (run) =>
            batch.attempt(async (sql) => {
              session = sql;
              const staged = [];
              await run({ sql, fold: (event) => staged.push(event) });
              for (const event of staged) {
                fold(pending, event);
                handled.push(event);
              }
            }),
          park: (event) => batch.park(event),
        });
        if (pending.size > 0) await this.#write(session, pending);
      },
      fence,
    );
    if (committed && handled.length > 0) this.#onCommitted?.(handled);
    return committed;
  }

  async #write(sql, pending) {
    const streams = [];
    const events = [];
    const amounts = [];
    const versions = [];
    const digests = [];
    for (const [stream, row] of pending) {
      streams.push(stream);
      events.push(row.events);
      amounts.push(row.amount);
      versions.push(row.lastVersion);
      digests.push(row.digest);
    }
    await sql.query({
      text: `INSERT INTO ${this.#table} AS t (group_name, stream_id, events, amount_sum, last_version, digest)
             SELECT $1, s, e, a, v, d
             FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::int[]) AS u(s, e, a, v, d)
             ON CONFLICT (group_name, stream_id) DO UPDATE SET
               events = t.events + excluded.events,
               amount_sum = t.amount_sum + excluded.amount_sum,
               last_version = excluded.last_version,
               digest = t.digest # excluded.digest`,
      values: [this.#group, streams, events, amounts, versions, digests],
    });
  }
}
