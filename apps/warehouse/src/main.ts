#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { describeFailure, ExitCode, openStorage, type Storage } from '@es-samples/storage';
import { parseCommandLine, USAGE } from './cli.js';
import { runDemo } from './demo.js';
import { PRODUCT_STREAM_PREFIX, productEvents } from './domain/product-events.js';
import { formatEvent, formatStock } from './format.js';
import { startStockProjection } from './stock-projection.js';

// The entry point: `warehouse demo`, `warehouse stock`, `warehouse history LAMP-01`. Data lives in
// the app's .data folder unless ES_DATA_DIR, DATABASE_URL or MONGO_URL say otherwise.
const defaultDataDir = fileURLToPath(new URL('../.data/warehouse', import.meta.url));

async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(args);
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return ExitCode.Ok;
  }
  if (parsed.kind === 'usage-error') {
    console.error(`warehouse: ${parsed.message}`);
    console.error('Run "warehouse --help" for the commands and what they accept.');
    return ExitCode.Usage;
  }
  const { command, verbose } = parsed;
  let storage: Storage | undefined;
  try {
    storage = await openStorage({
      registry: productEvents,
      schema: 'warehouse',
      dataDir: defaultDataDir,
      onLockWait: (holder) =>
        console.error(
          `warehouse: waiting for process ${holder.pid} ("${holder.command}") to finish with the data folder...`,
        ),
    });
    switch (command.name) {
      case 'demo':
        await runDemo({ storage });
        return ExitCode.Ok;
      case 'stock': {
        const stock = await startStockProjection(storage);
        await stock.projection.waitForIdle();
        const rows = await stock.rows();
        await stock.stop();
        for (const line of formatStock(rows)) console.log(line);
        return ExitCode.Ok;
      }
      case 'history': {
        const events = await storage.eventStore.getEvents(PRODUCT_STREAM_PREFIX + command.sku);
        if (events.length === 0) {
          console.error(`warehouse: no product '${command.sku}'`);
          return ExitCode.Refused;
        }
        for (const event of events) console.log(formatEvent(event));
        return ExitCode.Ok;
      }
      default:
        throw new Error(`unhandled command ${JSON.stringify(command satisfies never)}`);
    }
  } catch (error) {
    const report = describeFailure('warehouse', error, verbose);
    for (const line of report.lines) console.error(line);
    return report.exitCode;
  } finally {
    await storage?.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`warehouse: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = ExitCode.Failed;
  },
);
