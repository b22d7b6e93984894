#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { openConsoleDatabase } from './database.js';
import { type ConsoleOptions, parseConsoleArgs, USAGE } from './options.js';
import { startConsoleServer } from './server.js';

// `es-console [--data-dir DIR | --database-url URL] [--schema S] [--port N] [--host H] [--allow-writes [--token T]]`
// Without a source it opens the bank demo's folder, so one command shows the demo's streams.
const demoDataDir = fileURLToPath(new URL('../../eventsourcing-basic/.data/bank', import.meta.url));

async function main(args: readonly string[]): Promise<number> {
  let options: ConsoleOptions;
  try {
    const parsed = parseConsoleArgs(args, process.env, demoDataDir);
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    console.error(`es console: ${error instanceof Error ? error.message : String(error)}`);
    console.error('Run "es console --help" for the options.');
    return 2;
  }
  let database: Awaited<ReturnType<typeof openConsoleDatabase>>;
  try {
    database = await openConsoleDatabase({
      source: options.source,
      ...(options.schema ? { schema: options.schema } : {}),
      ...(options.table ? { table: options.table } : {}),
    });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    console.error(
      `es console: ${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`,
    );
    return 3;
  }
  const server = await startConsoleServer({
    database,
    host: options.host,
    port: options.port,
    allowWrites: options.allowWrites,
    ...(options.token ? { token: options.token } : {}),
  });
  console.log(`es console: ${database.description}`);
  if (options.host !== '127.0.0.1' && options.host !== 'localhost' && options.host !== '::1') {
    console.warn(
      `es console: WARNING: listening on ${options.host}, not only this machine: anyone who can reach it can read every event.`,
    );
  }
  if (server.token === undefined) {
    console.log(`es console: read-only, at ${server.url}`);
  } else {
    console.log(`es console: writes allowed (retry or skip parked events); token: ${server.token}`);
    console.log(`es console: open ${server.url}#token=${encodeURIComponent(server.token)}`);
  }
  if (database.kind === 'pglite') {
    console.log(
      'es console: the data folder is opened per request and closed when idle, so the demo can run meanwhile.',
    );
  }
  console.log('es console: Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`es console: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 3;
  },
);
