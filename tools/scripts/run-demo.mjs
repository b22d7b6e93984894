#!/usr/bin/env node
// The README's first command (`pnpm demo`) ends here: it runs the bank app's scripted demo, built
// by the step before. Arguments and the environment pass through, so
//   pnpm demo                         runs on PGlite, data kept in apps/eventsourcing-basic/.data
//   DATABASE_URL=postgres://... pnpm demo   runs on a PostgreSQL server
//   MONGO_URL=mongodb://... pnpm demo       runs on MongoDB
//   pnpm demo -- balance alice        runs any CLI command instead of the demo
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../apps/eventsourcing-basic/dist/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error(`The bank app is not built (${entry} is missing). Run "pnpm build" first, or "pnpm demo".`);
  process.exit(1);
}

const args = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--'));
const result = spawnSync(process.execPath, [entry, ...(args.length > 0 ? args : ['demo'])], {
  stdio: 'inherit',
  env: process.env,
});
if (result.error) {
  console.error(result.error);
  process.exit(1);
}
process.exit(result.status ?? 1);
