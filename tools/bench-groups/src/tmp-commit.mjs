// temporary: fenced commitBatch round trips, old vs new build, interleaved
import pg from 'pg';
import * as cur from '@es/store-postgres';
import * as old from '../../../packages/store-postgres/dist-old/index.js';
const url = 'postgres://postgres@127.0.0.1:5432/es_bench';
const schema = 'tmp_commit_' + process.pid;
const pool = new pg.Pool({ connectionString: url, max: 4 });
await cur.migrate({ connection: pool, schema });
await pool.query(`CREATE TABLE "${schema}".rm (id int PRIMARY KEY, n int)`);
const leases = new cur.PostgresPartitionLeaseStore({ connection: pool, schema });
await leases.heartbeat('g', 'w', 2, 60000);
const fences = [];
for (const p of [0, 1]) { const l = await leases.acquire('g', p, 'w', 60000); fences.push({ group: 'g', partition: p, token: l.token }); }
const stores = { new: new cur.PostgresProjectionStore({ connection: pool, schema }), old: new old.PostgresProjectionStore({ connection: pool, schema }) };
const at = { new: undefined, old: undefined };
const N = 400;
const res = { new: [], old: [] };
for (let round = 0; round < 9; round++) {
  for (const v of round % 2 ? ['new', 'old'] : ['old', 'new']) {
    const fence = fences[v === 'new' ? 0 : 1];
    const id = `g#${fence.partition}`;
    const t = performance.now();
    for (let i = 0; i < N; i++) {
      const next = (at[v] ?? 0n) + 1n;
      await stores[v].commitBatch(id, at[v], next, async (b) => b.attempt(async (sql) => { await sql.query({ text: `INSERT INTO "${schema}".rm VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = rm.n + 1`, values: [fence.partition] }); }), fence);
      at[v] = next;
    }
    res[v].push(((performance.now() - t) * 1000) / N);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`fenced commitBatch, one upsert, µs per batch (median of 9 rounds x ${N}): old ${med(res.old).toFixed(0)}, new ${med(res.new).toFixed(0)}, ratio new/old ${(med(res.new) / med(res.old)).toFixed(2)}`);
console.log('rounds old', res.old.map((x) => x.toFixed(0)).join(' '), '| new', res.new.map((x) => x.toFixed(0)).join(' '));
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await pool.end();
