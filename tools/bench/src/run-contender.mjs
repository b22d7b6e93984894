// Runs W1-W4 for one contender in this process and prints the result as one JSON line. Each
// contender runs in its own process: Emmett's driver layer changes pg's global type parsers.
import { randomBytes } from 'node:crypto';
import { createEmmett } from './contenders/emmett.mjs';
import {
  createEsStore,
  createEsStoreBefore,
  createEsStoreBeforeCoalesced,
  createEsStoreCoalesced,
  createEsStoreCoalescedQuiet,
} from './contenders/es-store.mjs';
import { createRawPg, createRawPgBatched, createRawPgUnchecked } from './contenders/raw-pg.mjs';
import { DEFAULT_SIZES, runWorkloads, selectWorkloads } from './workloads.mjs';

const factories = {
  es: createEsStore,
  'es-before': createEsStoreBefore,
  'es-coalesce': createEsStoreCoalesced,
  'es-coalesce-before': createEsStoreBeforeCoalesced,
  'es-coalesce-quiet': createEsStoreCoalescedQuiet,
  raw: createRawPg,
  'raw-batched': createRawPgBatched,
  'raw-unchecked': createRawPgUnchecked,
  emmett: createEmmett,
};
const [name, url, workloads] = process.argv.slice(2);
const factory = factories[name];
if (!factory || !url) {
  console.error(
    'usage: node run-contender.mjs <es|es-coalesce|es-coalesce-quiet|es-before|es-coalesce-before|raw|raw-batched|raw-unchecked|emmett> <postgres-url> [w1,w2,...]',
  );
  process.exit(2);
}
const schema = `bench_${name.replaceAll('-', '_')}_${randomBytes(4).toString('hex')}`;
const contender = await factory({ url, schema, poolSize: 10 });
try {
  const result = await runWorkloads(contender, DEFAULT_SIZES, selectWorkloads(workloads));
  process.stdout.write(`${JSON.stringify({ name: contender.name, ...result })}\n`);
} finally {
  await contender.close();
}
