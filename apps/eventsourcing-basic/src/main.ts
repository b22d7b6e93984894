#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { describeFailure, ExitCode, openStorage, type Storage } from '@es-samples/storage';
import { parseCommandLine, runCommand, USAGE } from './cli.js';
import { runDemo } from './demo.js';
import { accountEvents } from './domain/account-events.js';

// The entry point: `bank demo`, `bank deposit alice 10`, ... Data lives in the app's .data folder
// unless ES_DATA_DIR, DATABASE_URL or MONGO_URL say otherwise.
const defaultDataDir = fileURLToPath(new URL('../.data/bank', import.meta.url));

async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(args);
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return ExitCode.Ok;
  }
  if (parsed.kind === 'usage-error') {
    console.error(`bank: ${parsed.message}`);
    console.error('Run "bank --help" for the commands and what they accept.');
    return ExitCode.Usage;
  }
  const { command, verbose } = parsed;
  let storage: Storage | undefined;
  try {
    storage = await openStorage({
      registry: accountEvents,
      schema: 'bank',
      dataDir: defaultDataDir,
      onLockWait: (holder) =>
        console.error(
          `bank: waiting for process ${holder.pid} ("${holder.command}") to finish with the data folder...`,
        ),
    });
    if (command.name === 'demo') {
      await runDemo({ storage });
      return ExitCode.Ok;
    }
    return await runCommand(command, storage);
  } catch (error) {
    const report = describeFailure('bank', error, verbose);
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
    console.error(`bank: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = ExitCode.Failed;
  },
);
