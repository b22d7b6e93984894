import type { Command } from 'commander';
import type { ConnectionOptions } from '../connect.js';
import { runConsole } from '../console-command.js';
import { CliError } from '../errors.js';
import type { CommandContext } from './context.js';

/** `es console`: the web console, in a child process. */
export function registerConsoleCommands(program: Command, context: CommandContext): void {
  const { io, sub } = context;

  sub(program, 'console')
    .description(
      'start the web console (streams, events, live log, consumers, parked events) on 127.0.0.1; ' +
        'options after "console" go to it (--port, --host, --allow-writes, --token; "es console --help-console" lists them)',
    )
    .argument('[console-options...]', 'passed to the console as given')
    .allowUnknownOption()
    .helpOption('-h, --help', 'show this help')
    .action(async (consoleArgs: string[], _options: unknown, command: Command) => {
      const all = command.optsWithGlobals<ConnectionOptions>();
      // Only what the user said: the console finds the schema itself when none is given.
      const given = (name: keyof ConnectionOptions) =>
        command.getOptionValueSourceWithGlobals(name) === 'default' ? undefined : all[name];
      const connection = {
        url: given('url'),
        dataDir: given('dataDir'),
        schema: given('schema'),
        table: given('table'),
      };
      const args = consoleArgs.map((arg) => (arg === '--help-console' ? '--help' : arg));
      const code = await runConsole(connection, args, io.env);
      if (code !== 0)
        throw new CliError('ES_CLI_CONSOLE_FAILED', `the console stopped with exit code ${code}.`, code);
    });
}
