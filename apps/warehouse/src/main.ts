#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { openStorage } from '@es-samples/storage';
import { runDemo } from './demo.js';
import { PRODUCT_STREAM_PREFIX, productEvents } from './domain/product-events.js';
import { formatEvent, formatStock } from './format.js';
import { startStockProjection } from './stock-projection.js';

// The entry point: `warehouse demo`, `warehouse stock`, `warehouse history LAMP-01`. Data lives in
// the app's .data folder unless ES_DATA_DIR, DATABASE_URL or MONGO_URL say otherwise.
const defaultDataDir = fileURLToPath(new URL('../.data/warehouse', import.meta.url));

const USAGE = `Usage: warehouse <command>

  demo            the scripted story (see README.md)
  stock           the stock read model, built by the projection
  history <sku>   every event of a product, in today's shape`;

async function main(args: readonly string[]): Promise<number> {
  const storage = await openStorage({
    registry: productEvents,
    schema: 'warehouse',
    dataDir: defaultDataDir,
  });
  try {
    switch (args[0]) {
      case 'demo':
        await runDemo({ storage });
        return 0;
      case 'stock': {
        const stock = await startStockProjection(storage);
        await stock.projection.waitForIdle();
        const rows = await stock.rows();
        await stock.stop();
        for (const line of formatStock(rows)) console.log(line);
        return 0;
      }
      case 'history': {
        if (!args[1]) break;
        const events = await storage.eventStore.getEvents(PRODUCT_STREAM_PREFIX + args[1]);
        for (const event of events) console.log(formatEvent(event));
        if (events.length === 0) console.log(`no product "${args[1]}"`);
        return events.length === 0 ? 1 : 0;
      }
    }
    console.log(USAGE);
    return 2;
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
