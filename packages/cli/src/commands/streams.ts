import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { preview, table, toJson } from '../format.js';
import { type CommandContext, integer } from './context.js';
import { eventJson } from './shared.js';

/** `es streams list` and `es streams show`. */
export function registerStreamsCommands(program: Command, context: CommandContext): void {
  const { withBackend, print, sub } = context;

  const streams = sub(program, 'streams').description('list streams and show their events');
  sub(streams, 'list')
    .description('list streams (sorted by id), with their version and when they were written')
    .option('--prefix <text>', 'only streams whose id starts with this')
    .option('--limit <n>', 'streams per page', integer('--limit', 1), 50)
    .option(
      '--offset <n>',
      'skip this many streams (the next page: --offset <previous offset + limit>)',
      integer('--offset'),
      0,
    )
    .option('--json', 'print JSON')
    .action(
      async (
        options: { prefix?: string; limit: number; offset: number; json?: boolean },
        command: Command,
      ) => {
        await withBackend(command, async (backend) => {
          await backend.assertMigrated();
          const { streams: page, total } = await backend.listStreams(options);
          if (options.json)
            return print(toJson({ total, offset: options.offset, limit: options.limit, streams: page }));
          print(
            table(
              ['STREAM', 'VERSION', 'LAST POSITION', 'LAST WRITTEN'],
              page.map((s) => [
                s.streamId,
                String(s.version),
                s.lastPosition.toString(),
                s.lastAt.toISOString(),
              ]),
            ),
          );
          const end = options.offset + page.length;
          print(
            `${page.length === 0 ? 'No streams' : `Streams ${options.offset + 1}-${end}`} of ${total}` +
              (end < total ? ` (next page: --offset ${end})` : ''),
          );
        });
      },
    );
  sub(streams, 'show')
    .description("show a stream's events")
    .argument('<id>', 'the stream id')
    .option('--from-version <n>', 'start at this version', integer('--from-version', 1))
    .option('--limit <n>', 'at most this many events', integer('--limit', 1))
    .option('--json', 'print the events as JSON (data and metadata in full)')
    .action(
      async (
        id: string,
        options: { fromVersion?: number; limit?: number; json?: boolean },
        command: Command,
      ) => {
        await withBackend(command, async (backend) => {
          await backend.assertMigrated();
          // getEvents reads after a version; --from-version names the first one shown.
          const events = await backend.store.getEvents(
            id,
            options.fromVersion === undefined ? undefined : options.fromVersion - 1,
            options.limit === undefined ? {} : { limit: options.limit },
          );
          if (events.length === 0 && !(await backend.store.streamExists(id))) {
            throw new CliError('ES_STREAM_NOT_FOUND', `No stream "${id}" in ${backend.description}.`);
          }
          if (options.json) return print(toJson(events.map(eventJson)));
          print(
            table(
              ['VERSION', 'POSITION', 'TIMESTAMP', 'TYPE', 'DATA'],
              events.map((e) => [
                String(e.version),
                e.position.toString(),
                e.timestamp.toISOString(),
                e.type,
                preview(e.data),
              ]),
            ),
          );
        });
      },
    );
}
