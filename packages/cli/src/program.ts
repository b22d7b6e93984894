import { Command, CommanderError, Option } from 'commander';
import type { Backend } from './backends/backend.js';
import { registerConsoleCommands } from './commands/console.js';
import type { CommandContext } from './commands/context.js';
import { registerLogCommands } from './commands/log.js';
import { registerMigrateCommands } from './commands/migrate.js';
import { registerParkedCommands } from './commands/parked.js';
import { registerProjectionsCommands } from './commands/projections.js';
import { registerReplayCommands } from './commands/replay.js';
import { registerStreamsCommands } from './commands/streams.js';
import { type ConnectionOptions, openBackend } from './connect.js';
import { errorLine } from './errors.js';

/** Where the command line reads and writes: the process's streams and environment by default. */
export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Runs the `es` command line with `argv` (as `process.argv`: node, script, then arguments) and
 * resolves to the exit code: 0 on success, 1 on a failure, 2 on a usage error. Errors are printed
 * as one line, `es: <CODE>: <message>`, on stderr.
 *
 * @example
 * process.exitCode = await runCli(process.argv);
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.help' ||
        error.code === 'commander.version'
      ) {
        return 0;
      }
      const message = error.message.replace(/^error:\s*/, '');
      io.stderr.write(`es: ES_CLI_USAGE: ${message} (see --help)\n`);
      return 2;
    }
    const { line, exitCode } = errorLine(error);
    io.stderr.write(`${line}\n`);
    return exitCode;
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('es');
  program
    .description(
      'Operate an @es event store: migrate it, browse streams, follow the log, see projections, parked events and replays.',
    )
    .version('0.1.0')
    .addOption(
      new Option('--url <url>', 'PostgreSQL server (postgres:// or postgresql://); default: $DATABASE_URL'),
    )
    .addOption(new Option('--data-dir <folder>', 'embedded PostgreSQL (PGlite) data directory'))
    .addOption(
      new Option(
        '--mongo-url <url>',
        'MongoDB (mongodb://...); default: $MONGO_URL when no PostgreSQL is named',
      ),
    )
    .addOption(new Option('--database <name>', 'MongoDB database (default: the one in the URL)'))
    .addOption(new Option('--schema <name>', 'PostgreSQL schema of the store').default('public'))
    .addOption(new Option('--table <name>', 'event table (MongoDB: events collection)').default('events'))
    .addOption(
      new Option('--wait <seconds>', 'wait this long for another process to close the data directory'),
    )
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Errors are printed by runCli, as one line with a code.
      outputError: () => {},
    })
    .showSuggestionAfterError(true);

  /** Opens the store, runs `work`, closes the store whatever happens. */
  const withBackend = async <T>(command: Command, work: (backend: Backend) => Promise<T>): Promise<T> => {
    const backend = await openBackend(command.optsWithGlobals<ConnectionOptions>(), io.env);
    try {
      return await work(backend);
    } finally {
      await backend.close();
    }
  };
  const print = (text: string) => io.stdout.write(`${text}\n`);
  const sub = (parent: Command, name: string) =>
    parent
      .command(name)
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
        outputError: () => {},
      });

  const context: CommandContext = { io, withBackend, print, sub };

  // In the order of the help's command list.
  registerConsoleCommands(program, context);
  registerMigrateCommands(program, context);
  registerStreamsCommands(program, context);
  registerLogCommands(program, context);
  registerProjectionsCommands(program, context);
  registerParkedCommands(program, context);
  registerReplayCommands(program, context);

  return program;
}
