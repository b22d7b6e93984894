import type { Position } from '@es/core';
import type { Command } from 'commander';
import type { Backend } from '../backends/backend.js';
import { bytes, preview, table, toJson, toJsonLine } from '../format.js';
import type { CliIo } from '../program.js';
import { type CommandContext, collect, integer, position } from './context.js';
import { eventJson } from './shared.js';

/** The options of `es tail`, as commander parses them. */
interface TailOptions {
  type?: string[];
  from?: Position;
  fromStart?: boolean;
  count?: number;
  poll: number;
  json?: boolean;
}

/** `es tail` (follow the global log) and `es stats`. */
export function registerLogCommands(program: Command, context: CommandContext): void {
  const { io, withBackend, print, sub } = context;

  sub(program, 'tail')
    .description('follow the global log live, printing each new event (Ctrl-C to stop)')
    .option('--type <types>', 'only these event types (repeat or comma-separate)', collect)
    .option(
      '--from <position>',
      'start after this position instead of at the end of the log',
      position('--from'),
    )
    .option('--from-start', 'start at the beginning of the log')
    .option('--count <n>', 'stop after this many events', integer('--count', 1))
    .option(
      '--poll <ms>',
      'how often to look for new events when the store sends no notification',
      integer('--poll', 10),
      500,
    )
    .option('--json', 'print one JSON object per event (NDJSON)')
    .action(async (options: TailOptions, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        await tail(backend, options, io);
      });
    });

  sub(program, 'stats')
    .description('event counts, append rate, sizes, event types and the largest streams')
    .option('--top <n>', 'how many of the largest streams to show', integer('--top', 1), 10)
    .option('--json', 'print JSON')
    .action(async (options: { top: number; json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const stats = await backend.stats(options.top);
        const rates = {
          perSecondLastMinute: stats.lastMinute / 60,
          perSecondLastHour: stats.lastHour / 3600,
        };
        if (options.json) return print(toJson({ ...stats, ...rates }));
        print(
          table(
            ['', ''],
            [
              ['events', String(stats.events)],
              ['streams', String(stats.streams)],
              ['head position', stats.headPosition?.toString() ?? '-'],
              ['first event', stats.firstAt?.toISOString() ?? '-'],
              ['last event', stats.lastAt?.toISOString() ?? '-'],
              [
                'rate',
                `${stats.lastMinute} in the last minute (${rates.perSecondLastMinute.toFixed(2)}/s), ${stats.lastHour} in the last hour (${rates.perSecondLastHour.toFixed(2)}/s)`,
              ],
              ['storage', stats.storageBytes === undefined ? '-' : bytes(stats.storageBytes)],
              [
                'mean event size',
                stats.averageEventBytes === undefined ? '-' : bytes(stats.averageEventBytes),
              ],
            ],
          ).replace(/^\s*\n/, ''),
        );
        print('');
        print(
          table(
            ['TYPE', 'EVENTS'],
            stats.types.map((t) => [t.type, String(t.count)]),
          ),
        );
        print('');
        print(
          table(
            ['LARGEST STREAMS', 'EVENTS'],
            stats.largestStreams.map((s) => [s.streamId, String(s.events)]),
          ),
        );
      });
    });
}

async function tail(backend: Backend, options: TailOptions, io: CliIo): Promise<void> {
  let after: Position | undefined = options.fromStart
    ? undefined
    : (options.from ?? (await backend.headPosition()));
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let wake: (() => void) | undefined;
  const subscription = backend.store.capabilities.liveNotifications
    ? await backend.store.subscribeToAppends?.(() => wake?.())
    : undefined;
  io.stderr.write(
    `Following ${backend.description} after position ${after ?? 'start'}${options.type ? ` (types ${options.type.join(', ')})` : ''}; Ctrl-C to stop.\n`,
  );
  let printed = 0;
  try {
    while (!controller.signal.aborted) {
      for await (const event of backend.store.getAllEvents(after, {
        ...(options.type ? { eventTypes: options.type } : {}),
        signal: controller.signal,
      })) {
        after = event.position;
        io.stdout.write(
          options.json
            ? `${toJsonLine(eventJson(event))}\n`
            : `${event.position} ${event.timestamp.toISOString()} ${event.streamId}@${event.version} ${event.type} ${preview(event.data, 120)}\n`,
        );
        if (options.count !== undefined && ++printed >= options.count) return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.poll);
        controller.signal.addEventListener('abort', done, { once: true });
        wake = done;
        function done() {
          clearTimeout(timer);
          controller.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
      });
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await subscription?.close();
  }
}
