#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { openStorage } from '@es-samples/storage';
import { runCommand } from './cli.js';
import { runDemo } from './demo.js';
import { accountEvents } from './domain/account-events.js';

// The entry point: `bank demo`, `bank deposit alice 10`, ... Data lives in the app's .data folder
// unless ES_DATA_DIR, DATABASE_URL or MONGO_URL say otherwise.
const defaultDataDir = fileURLToPath(new URL('../.data/bank', import.meta.url));

async function main(args: readonly string[]): Promise<number> {
  const storage = await openStorage({ registry: accountEvents, schema: 'bank', dataDir: defaultDataDir });
  try {
    if (args[0] === 'demo') {
      await runDemo({ storage });
      return 0;
    }
    return await runCommand(args, storage);
  } finally {
    await storage.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
