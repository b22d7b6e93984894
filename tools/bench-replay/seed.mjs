// Seeds the benchmark's event table with generate_series: one INSERT per chunk, in the store's own
// table layout (positions 1..N, 10,000 streams with gapless versions), then VACUUM ANALYZE.

/** Inserts `count` events into `schema.events` (created by migrate()). */
export async function seedEvents(pool, schema, count, streams = 10_000) {
  const chunk = 250_000;
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await pool.query(
      `INSERT INTO "${schema}".events
         (position, stream_id, version, event_id, type, schema_version, data, metadata, created_at)
       SELECT n, 'stream-' || (n % $3), ((n - 1) / $3)::int + 1, gen_random_uuid(),
              CASE WHEN n % 5 = 0 THEN 'Withdrawn' ELSE 'Deposited' END, 1,
              jsonb_build_object('amount', n % 100, 'note', 'seeded event number ' || n),
              '{}'::jsonb, now()
       FROM generate_series($1::bigint, $2::bigint) AS n`,
      [from, to, streams],
    );
  }
  await pool.query(`VACUUM ANALYZE "${schema}".events`);
}
