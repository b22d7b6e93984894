#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { chooseStorage, describeFailure, ExitCode, openStorage, type Storage } from '@es-samples/storage';
import { parseCommandLine, USAGE } from './cli.js';
import { runDemo } from './demo.js';
import { PRODUCT_STREAM_PREFIX, productEvents } from './domain/product-events.js';
import { formatEvent, formatGroup, formatStock } from './format.js';
import { startStockProjection } from './stock-projection.js';
import {
  describeStockGroup,
  STOCK_GROUP,
  STOCK_GROUP_PARTITIONS,
  startStockWorker,
} from './stock-workers.js';
import { runWorkerProcesses, untilSignalled } from './workers.js';

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
    const grouped = command.name === 'workers' || command.name === 'worker' || command.name === 'group';
    if (
      grouped &&
      chooseStorage(process.env, { dataDir: defaultDataDir, schema: 'warehouse' }).kind !== 'postgres'
    ) {
      console.error(
        `warehouse: ${command.name} needs a PostgreSQL server: set DATABASE_URL=postgres://... ` +
          '(worker processes share the leases and the read model through it; the default embedded ' +
          'database, PGlite, is opened by one process at a time, and MongoDB or memory are not supported here)',
      );
      return ExitCode.Usage;
    }
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
      case 'workers': {
        // Migrates once and checks the server answers before starting the processes.
        await describeStockGroup({ eventStore: storage.eventStore, postgres: storage.postgres! });
        console.log(
          `workers: ${storage.description}; group "${STOCK_GROUP}" (${STOCK_GROUP_PARTITIONS} partitions) keeps ${storage.postgres!.schema}.stock_workers`,
        );
        const stopped = await runWorkerProcesses({
          count: command.count,
          workerArgs: [process.argv[1]!, 'worker', ...(verbose ? ['--verbose'] : [])],
          print: (line) => console.log(line),
        });
        if (stopped) return ExitCode.Ok;
        console.error('warehouse: every worker process ended by itself (see their lines above)');
        return ExitCode.Failed;
      }
      case 'worker': {
        const worker = await startStockWorker({
          eventStore: storage.eventStore,
          postgres: storage.postgres!,
          onRebalance: (owned, workerId) =>
            console.log(
              `worker ${workerId}: ${owned.length === 0 ? 'owns no partition' : `owns partitions ${owned.join(', ')}`}`,
            ),
          onError: (error) => {
            for (const line of describeFailure(`worker pid ${process.pid}`, error, verbose).lines)
              console.error(line);
          },
        });
        console.log(`worker ${worker.workerId} (pid ${process.pid}): joining group "${STOCK_GROUP}"`);
        const failed = worker.failed().then((error) => ({ error }));
        const outcome = await Promise.race([untilSignalled(), failed]);
        await worker.stop();
        // Started by `warehouse workers`: let go of its channel, or this process would not exit.
        if (process.connected) process.disconnect();
        if (typeof outcome === 'object') throw outcome.error;
        console.log(`worker ${worker.workerId}: stopped, its partitions handed over`);
        return ExitCode.Ok;
      }
      case 'group': {
        const status = await describeStockGroup({
          eventStore: storage.eventStore,
          postgres: storage.postgres!,
        });
        for (const line of formatGroup(STOCK_GROUP, status)) console.log(line);
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
