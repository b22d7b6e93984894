import type { DomainEvent, Position, StoredEvent } from '@es/core';
import { EventReplayer } from '@es/replay';
import { Command, CommanderError, Option } from 'commander';
import type { Backend, CheckpointRow, GroupRow } from './backends/backend.js';
import { type ConnectionOptions, openBackend } from './connect.js';
import { runConsole } from './console-command.js';
import { CliError, errorLine, usageError } from './errors.js';
import { bytes, duration, preview, table, toJson, toJsonLine } from './format.js';
import { type CliHandlerModule, loadHandlerModule } from './handler-module.js';
import { progressReporter } from './progress.js';

/** Where the command line reads and writes: the process's streams and environment by default. */
export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

/** Lag counts stop here: counting more would read the whole backlog for a number nobody needs exactly. */
const LAG_LIMIT = 1_000_000;

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

const integer =
  (name: string, min = 0) =>
  (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min)
      throw usageError(`${name} takes a whole number ≥ ${min}, got "${value}".`);
    return Number(value);
  };
const position =
  (name: string) =>
  (value: string): Position => {
    if (!/^\d+$/.test(value))
      throw usageError(`${name} takes a global position (a whole number), got "${value}".`);
    return BigInt(value);
  };
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(',')];

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

  sub(program, 'migrate')
    .description('apply the store migrations that are not applied yet (idempotent)')
    .option('--dry-run', 'print what would be applied (the SQL, for PostgreSQL) and change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        const report = await backend.migrate(options.dryRun === true);
        if (options.json) return print(toJson({ dryRun: options.dryRun === true, ...report }));
        if (options.dryRun) {
          if (report.pending.length === 0)
            return print(`-- Nothing to apply: ${backend.description} is up to date.`);
          print(
            `-- Dry run: ${report.pending.length} migration(s) would be applied to ${backend.description}.`,
          );
          for (const item of report.pending) print(`\n-- ${item.name}\n${item.text.trimEnd()}`);
          return;
        }
        for (const name of report.applied) print(`applied ${name}`);
        print(
          report.applied.length === 0
            ? `Up to date (${report.alreadyApplied.length} migration(s) already applied).`
            : `Applied ${report.applied.length} migration(s); ${report.alreadyApplied.length} were already applied.`,
        );
      });
    });

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
    .action(
      async (
        options: {
          type?: string[];
          from?: Position;
          fromStart?: boolean;
          count?: number;
          poll: number;
          json?: boolean;
        },
        command: Command,
      ) => {
        await withBackend(command, async (backend) => {
          await backend.assertMigrated();
          await tail(backend, options, io);
        });
      },
    );

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

  const projections = sub(program, 'projections').description(
    'projections and consumer groups: checkpoints, lag, parked events, leases; reset, rewind, rebuild',
  );
  sub(projections, 'list')
    .description('every subscription with a checkpoint or a consumer group: checkpoint, lag, parked, owners')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const all = await describeAll(backend);
        if (options.json) return print(toJson(all.map(summaryJson)));
        print(
          table(
            ['NAME', 'KIND', 'PARTITIONS', 'CHECKPOINT', 'LAG', 'LAG TIME', 'PARKED', 'OWNERS'],
            all.map((p) => {
              const s = summaryJson(p);
              return [
                p.name,
                p.kind,
                p.kind === 'group' ? String(p.partitions.length) : '-',
                s.checkpoint ?? '-',
                lagText(s.lagEvents, s.lagCapped),
                duration(s.lagSeconds),
                String(s.parked),
                s.owners.join(',') || '-',
              ];
            }),
          ),
        );
      });
    });
  sub(projections, 'status')
    .description('one projection or consumer group, partition by partition')
    .argument('<name>', 'the subscription id or consumer group name')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const found = await describeOne(backend, name);
        if (options.json) return print(toJson({ ...summaryJson(found), partitions: found.partitions }));
        print(`${found.kind} ${found.name}: head position ${found.head?.toString() ?? '-'}`);
        print(
          table(
            ['SUBSCRIPTION', 'CHECKPOINT', 'UPDATED', 'LAG', 'LAG TIME', 'PARKED', 'OWNER'],
            found.partitions.map((p) => [
              p.subscriptionId,
              p.checkpoint?.toString() ?? '-',
              p.updatedAt?.toISOString() ?? '-',
              lagText(p.lagEvents, p.lagCapped),
              duration(p.lagSeconds),
              String(p.parked),
              p.owner ?? '-',
            ]),
          ),
        );
      });
    });
  sub(projections, 'reset')
    .description(
      'forget the checkpoint(s): the projection (every partition of a group) starts again from the beginning',
    )
    .argument('<name>', 'the subscription id or consumer group name')
    .option('--force', 'even while a worker holds a lease of the group')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { force?: boolean; json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const found = await describeOne(backend, name);
        assertNotRunning(found, options.force);
        for (const p of found.partitions) await backend.checkpoints.reset(p.subscriptionId);
        const ids = found.partitions.map((p) => p.subscriptionId);
        if (options.json) return print(toJson({ name, reset: ids }));
        print(`Reset ${ids.join(', ')}: the next run starts from the beginning of the log.`);
      });
    });
  sub(projections, 'rewind')
    .description('set the checkpoint(s) to a position: events after it are handled again')
    .argument('<name>', 'the subscription id or consumer group name')
    .requiredOption(
      '--to <position>',
      'the new checkpoint (events after it are handled again)',
      position('--to'),
    )
    .option('--force', 'even while a worker holds a lease of the group')
    .option('--json', 'print JSON')
    .action(
      async (name: string, options: { to: Position; force?: boolean; json?: boolean }, command: Command) => {
        await withBackend(command, async (backend) => {
          await backend.assertMigrated();
          const found = await describeOne(backend, name);
          assertNotRunning(found, options.force);
          for (const p of found.partitions) await backend.checkpoints.save(p.subscriptionId, options.to);
          const ids = found.partitions.map((p) => p.subscriptionId);
          if (options.json) return print(toJson({ name, position: options.to, rewound: ids }));
          print(`Set ${ids.join(', ')} to position ${options.to}.`);
        });
      },
    );
  sub(projections, 'rebuild')
    .description(
      "replay the whole log into a module's handler, then set the checkpoint(s) to the end (stop the workers first)",
    )
    .argument('<name>', 'the subscription id or consumer group name')
    .requiredOption(
      '--module <path>',
      'module exporting the handler (see the README: export default { name, handler, eventTypes? })',
    )
    .option('--batch-size <n>', 'events per read', integer('--batch-size', 1), 500)
    .option('--force', 'even while a worker holds a lease of the group')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        name: string,
        options: { module: string; batchSize: number; force?: boolean; json?: boolean },
        command: Command,
      ) => {
        const handler = await loadHandlerModule(options.module);
        try {
          await withBackend(command, async (backend) => {
            await backend.assertMigrated();
            const found = await describeOne(backend, name, true);
            assertNotRunning(found, options.force);
            if (handler.name !== undefined && handler.name !== name) {
              throw usageError(
                `${options.module} is the handler of "${handler.name}", not "${name}".`,
                'ES_CLI_MODULE_MISMATCH',
              );
            }
            const head = await backend.headPosition();
            for (const p of found.partitions) await backend.checkpoints.reset(p.subscriptionId);
            const result =
              head === undefined
                ? { processed: 0, lastPosition: 0n, elapsedMs: 0 }
                : await replayInto(
                    backend,
                    handler,
                    undefined,
                    head,
                    options.batchSize,
                    `rebuild ${name}`,
                    io,
                  );
            if (head !== undefined)
              for (const p of found.partitions) await backend.checkpoints.save(p.subscriptionId, head);
            if (options.json) return print(toJson({ name, ...result, checkpoint: head ?? null }));
            print(
              `Rebuilt ${name}: ${result.processed} events in ${(result.elapsedMs / 1000).toFixed(1)}s; checkpoint ${head ?? '-'}.`,
            );
          });
        } finally {
          await handler.close?.();
        }
      },
    );

  const parked = sub(program, 'parked').description('events a projection kept failing on: list, retry, skip');
  sub(parked, 'list')
    .description('list parked events (of one subscription or group, or all)')
    .argument('[name]', 'a subscription id or consumer group name')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, options: { json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const events = await backend.listParked(name);
        if (options.json) return print(toJson(events));
        print(
          table(
            ['SUBSCRIPTION', 'POSITION', 'STREAM', 'TYPE', 'ATTEMPTS', 'PARKED AT', 'ERROR'],
            events.map((e) => [
              e.subscriptionId,
              e.position.toString(),
              e.streamId,
              e.eventType,
              String(e.attempts),
              e.parkedAt.toISOString(),
              e.error.split('\n')[0]!,
            ]),
          ),
        );
      });
    });
  const parkedTargets = async (
    backend: Backend,
    name: string,
    positions: Position[],
    all: boolean | undefined,
  ) => {
    if (all === positions.length > 0) {
      throw usageError('Name the positions to act on, or --all (not both).');
    }
    const listed = await backend.listParked(name);
    if (all) return listed;
    return positions.map((at) => {
      const event = listed.find((e) => e.position === at);
      if (!event)
        throw new CliError('ES_CLI_NOT_PARKED', `No event of "${name}" is parked at position ${at}.`);
      return event;
    });
  };
  sub(parked, 'skip')
    .description('drop parked events: they are not handled again')
    .argument('<name>', 'the subscription id (group#partition) or consumer group name')
    .argument(
      '[positions...]',
      'positions of the parked events',
      (value: string, previous: Position[] = []) => [...previous, position('position')(value)],
    )
    .option('--all', 'every parked event of the subscription or group')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        positions: Position[] | undefined,
        options: { all?: boolean; json?: boolean },
        command: Command,
      ) => {
        await withBackend(command, async (backend) => {
          await backend.assertMigrated();
          const targets = await parkedTargets(backend, name, positions ?? [], options.all);
          for (const event of targets) await backend.removeParked(event.subscriptionId, event.position);
          if (options.json) return print(toJson({ skipped: targets }));
          print(`Skipped ${targets.length} parked event(s).`);
        });
      },
    );
  sub(parked, 'retry')
    .description("hand parked events to a module's handler again; each one handled is no longer parked")
    .argument('<name>', 'the subscription id (group#partition) or consumer group name')
    .argument(
      '[positions...]',
      'positions of the parked events',
      (value: string, previous: Position[] = []) => [...previous, position('position')(value)],
    )
    .option('--all', 'every parked event of the subscription or group')
    .requiredOption('--module <path>', 'module exporting the (fixed) handler')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        positions: Position[] | undefined,
        options: { all?: boolean; module: string; json?: boolean },
        command: Command,
      ) => {
        const handler = await loadHandlerModule(options.module);
        try {
          await withBackend(command, async (backend) => {
            await backend.assertMigrated();
            const targets = await parkedTargets(backend, name, positions ?? [], options.all);
            const retried: unknown[] = [];
            const failed: { subscriptionId: string; position: Position; error: string }[] = [];
            for (const parkedEvent of targets) {
              const event = await eventAt(backend, parkedEvent.position);
              try {
                await handler.handler(event);
              } catch (error) {
                failed.push({
                  subscriptionId: parkedEvent.subscriptionId,
                  position: parkedEvent.position,
                  error: error instanceof Error ? error.message : String(error),
                });
                continue;
              }
              await backend.removeParked(parkedEvent.subscriptionId, parkedEvent.position);
              retried.push({ subscriptionId: parkedEvent.subscriptionId, position: parkedEvent.position });
            }
            if (options.json) print(toJson({ retried, failed }));
            else print(`Retried ${retried.length} parked event(s); ${failed.length} failed again.`);
            if (failed.length > 0) {
              const first = failed[0]!;
              throw new CliError(
                'ES_CLI_RETRY_FAILED',
                `${failed.length} event(s) failed again and stay parked; the first, ${first.subscriptionId} at ${first.position}: ${first.error}`,
              );
            }
          });
        } finally {
          await handler.close?.();
        }
      },
    );

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
        const loaded = await loadHandlerModule(options.module);
        const eventTypes = options.type ?? loaded.eventTypes;
        const handler = { ...loaded, ...(eventTypes ? { eventTypes } : {}) };
        try {
          await withBackend(command, async (backend) => {
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
        } finally {
          await loaded.close?.();
        }
      },
    );

  return program;
}

function eventJson(event: StoredEvent<DomainEvent>) {
  return {
    position: event.position,
    streamId: event.streamId,
    version: event.version,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    timestamp: event.timestamp,
    data: event.data,
    metadata: event.metadata,
    ...(event.tags ? { tags: event.tags } : {}),
  };
}

async function eventAt(backend: Backend, at: Position): Promise<StoredEvent<DomainEvent>> {
  for await (const event of backend.store.getAllEvents(at - 1n, { toPosition: at, batchSize: 1 })) {
    if (event.position === at) return event;
  }
  throw new CliError('ES_CLI_EVENT_NOT_FOUND', `No event at position ${at} in the log.`);
}

async function replayInto(
  backend: Backend,
  handler: CliHandlerModule,
  from: Position | undefined,
  to: Position | undefined,
  batchSize: number,
  label: string,
  io: CliIo,
) {
  const progress = progressReporter(label, io.stderr, { forcePlain: io.env.ES_PROGRESS === 'plain' });
  try {
    return await new EventReplayer(backend.store).replayWithProgress(
      (event) => handler.handler(event),
      from ?? 0n,
      {
        batchSize,
        ...(to === undefined ? {} : { toPosition: to }),
        ...(handler.eventTypes ? { eventTypes: handler.eventTypes } : {}),
      },
      (state) => progress.update(state.processed, state.total),
    );
  } finally {
    progress.stop();
  }
}

async function tail(
  backend: Backend,
  options: {
    type?: string[];
    from?: Position;
    fromStart?: boolean;
    count?: number;
    poll: number;
    json?: boolean;
  },
  io: CliIo,
): Promise<void> {
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

interface PartitionStatus {
  readonly subscriptionId: string;
  readonly partition: number | undefined;
  readonly checkpoint: Position | undefined;
  readonly updatedAt: Date | undefined;
  readonly lagEvents: number;
  readonly lagCapped: boolean;
  readonly lagSeconds: number;
  readonly parked: number;
  readonly owner: string | undefined;
}

interface ProjectionStatus {
  readonly name: string;
  readonly kind: 'projection' | 'group';
  readonly head: Position | undefined;
  readonly members: readonly string[];
  readonly partitions: readonly PartitionStatus[];
}

const GROUP_PARTITION = /^(.+)#(\d+)$/;

/** Every subscription with a checkpoint, grouping `<group>#<p>` ids, plus the groups the lease tables know. */
async function describeAll(backend: Backend): Promise<ProjectionStatus[]> {
  const [checkpoints, groups, parkedCounts, head] = await Promise.all([
    backend.listCheckpoints(),
    backend.listGroups(),
    backend.parkedCounts(),
    backend.headPosition(),
  ]);
  const names = new Map<string, 'projection' | 'group'>();
  for (const group of groups) names.set(group.name, 'group');
  for (const id of [...checkpoints.map((c) => c.subscriptionId), ...parkedCounts.keys()]) {
    const match = GROUP_PARTITION.exec(id);
    if (match) names.set(match[1]!, 'group');
    else if (!names.has(id)) names.set(id, 'projection');
  }
  const result: ProjectionStatus[] = [];
  for (const [name, kind] of [...names].sort(([a], [b]) => a.localeCompare(b))) {
    result.push(await statusOf(backend, name, kind, checkpoints, groups, parkedCounts, head));
  }
  return result;
}

async function describeOne(backend: Backend, name: string, allowNew = false): Promise<ProjectionStatus> {
  const all = await describeAll(backend);
  const found =
    all.find((p) => p.name === name) ??
    all.flatMap((p) => p.partitions).find((p) => p.subscriptionId === name);
  if (found && 'kind' in found) return found;
  if (found) {
    // One partition of a group, named as `group#p`.
    const group = all.find((p) => p.partitions.includes(found as PartitionStatus))!;
    return { ...group, name, kind: 'projection', partitions: [found as PartitionStatus] };
  }
  if (allowNew)
    return { name, kind: 'projection', head: undefined, members: [], partitions: [emptyPartition(name)] };
  throw new CliError(
    'ES_CLI_PROJECTION_NOT_FOUND',
    `No projection or consumer group "${name}" (no checkpoint, lease or parked event of it). \`es projections list\` shows them.`,
  );
}

function emptyPartition(subscriptionId: string): PartitionStatus {
  return {
    subscriptionId,
    partition: undefined,
    checkpoint: undefined,
    updatedAt: undefined,
    lagEvents: 0,
    lagCapped: false,
    lagSeconds: 0,
    parked: 0,
    owner: undefined,
  };
}

async function statusOf(
  backend: Backend,
  name: string,
  kind: 'projection' | 'group',
  checkpoints: readonly CheckpointRow[],
  groups: readonly GroupRow[],
  parkedCounts: ReadonlyMap<string, number>,
  head: Position | undefined,
): Promise<ProjectionStatus> {
  const group = groups.find((g) => g.name === name);
  const ids: { id: string; partition: number | undefined }[] = [];
  if (kind === 'projection') ids.push({ id: name, partition: undefined });
  else {
    const seen = new Set<number>();
    for (let p = 0; p < (group?.partitions ?? 0); p++) seen.add(p);
    for (const id of [...checkpoints.map((c) => c.subscriptionId), ...parkedCounts.keys()]) {
      const match = GROUP_PARTITION.exec(id);
      if (match && match[1] === name) seen.add(Number(match[2]));
    }
    for (const p of [...seen].sort((a, b) => a - b)) ids.push({ id: `${name}#${p}`, partition: p });
  }
  const partitions: PartitionStatus[] = [];
  const now = Date.now();
  for (const { id, partition } of ids) {
    const row = checkpoints.find((c) => c.subscriptionId === id);
    // No checkpoint: the subscription starts at the beginning, so everything is lag.
    const from = row?.position ?? -1n;
    const counted = await backend.countAfter(from, LAG_LIMIT + 1);
    const first = counted > 0 ? await backend.firstAfter(from) : undefined;
    partitions.push({
      subscriptionId: id,
      partition,
      checkpoint: row?.position,
      updatedAt: row?.updatedAt,
      lagEvents: Math.min(counted, LAG_LIMIT),
      lagCapped: counted > LAG_LIMIT,
      lagSeconds: first ? Math.max(0, (now - first.timestamp.getTime()) / 1000) : 0,
      parked: parkedCounts.get(id) ?? 0,
      owner: partition === undefined ? undefined : group?.owners.get(partition),
    });
  }
  return { name, kind, head, members: group?.members ?? [], partitions };
}

/** The row of `projections list`: a group's checkpoint is its lowest, its lag the largest. */
function summaryJson(p: ProjectionStatus) {
  const withCheckpoint = p.partitions.filter((x) => x.checkpoint !== undefined);
  const lowest =
    withCheckpoint.length < p.partitions.length || withCheckpoint.length === 0
      ? undefined
      : withCheckpoint.reduce((a, b) => (a.checkpoint! < b.checkpoint! ? a : b)).checkpoint;
  const worst = p.partitions.reduce<PartitionStatus | undefined>(
    (a, b) => (a === undefined || b.lagEvents > a.lagEvents || b.lagCapped ? b : a),
    undefined,
  );
  return {
    name: p.name,
    kind: p.kind,
    partitions: p.partitions.length,
    head: p.head?.toString() ?? null,
    checkpoint: lowest?.toString(),
    lagEvents: worst?.lagEvents ?? 0,
    lagCapped: worst?.lagCapped ?? false,
    lagSeconds: Math.max(0, ...p.partitions.map((x) => x.lagSeconds)),
    parked: p.partitions.reduce((sum, x) => sum + x.parked, 0),
    owners: [...new Set(p.partitions.map((x) => x.owner).filter((o): o is string => o !== undefined))].sort(),
    members: p.members,
  };
}

function lagText(events: number, capped: boolean): string {
  return capped ? '>1M' : String(events);
}

function assertNotRunning(p: ProjectionStatus, force: boolean | undefined): void {
  const owners = p.partitions.map((x) => x.owner).filter((o) => o !== undefined);
  if (owners.length > 0 && !force) {
    throw new CliError(
      'ES_CLI_PROJECTION_RUNNING',
      `Workers hold leases of "${p.name}" (${[...new Set(owners)].join(', ')}): stop them first, or pass --force.`,
    );
  }
}
