import type { Position } from '@es/core';
import type { Command } from 'commander';
import { toJson } from '../format.js';
import { type CommandContext, collect, integer, position } from './context.js';
import { replayInto, withHandlerModule } from './shared.js';

/** `es replay`: the global log (or a range of it) into a module's handler. */
export function registerReplayCommands(program: Command, context: CommandContext): void {
  const { io, withBackend, print, sub } = context;

  sub(program, 'replay')
    .description(
      "replay the global log (or a range of it) into a module's handler, with a progress bar; no checkpoint is touched",
    )
    .requiredOption(
      '--module <path>',
      'module exporting the handler (export default { handler, eventTypes? })',
    )
    .option('--from <position>', 'start after this position', position('--from'))
    .option('--to <position>', 'stop at this position (inclusive)', position('--to'))
    .option(
      '--type <types>',
      'only these event types (repeat or comma-separate; adds to the module’s eventTypes)',
      collect,
    )
    .option('--batch-size <n>', 'events per read', integer('--batch-size', 1), 500)
    .option('--json', 'print the result as JSON')
    .action(
      async (
        options: {
          module: string;
          from?: Position;
          to?: Position;
          type?: string[];
          batchSize: number;
          json?: boolean;
        },
        command: Command,
      ) => {
        await withHandlerModule(options.module, (loaded) => {
          const eventTypes = options.type ?? loaded.eventTypes;
          const handler = { ...loaded, ...(eventTypes ? { eventTypes } : {}) };
          return withBackend(command, async (backend) => {
            await backend.assertMigrated();
            const result = await replayInto(
              backend,
              handler,
              options.from,
              options.to,
              options.batchSize,
              'replay',
              io,
            );
            if (options.json) return print(toJson(result));
            print(
              `Replayed ${result.processed} events up to position ${result.lastPosition} in ${(result.elapsedMs / 1000).toFixed(1)}s.`,
            );
          });
        });
      },
    );
}
