import type { DomainEvent, Position, StoredEvent } from '@es/core';
import type { Command } from 'commander';
import type { Backend } from '../backends/backend.js';
import { CliError, usageError } from '../errors.js';
import { table, toJson } from '../format.js';
import { type CommandContext, position } from './context.js';
import { withHandlerModule } from './shared.js';

/** The arguments and option that pick parked events, shared by `es parked skip` and `retry`. */
function parkedSelection(command: Command): Command {
  return command
    .argument('<name>', 'the subscription id (group#partition) or consumer group name')
    .argument(
      '[positions...]',
      'positions of the parked events',
      (value: string, previous: Position[] = []) => [...previous, position('position')(value)],
    )
    .option('--all', 'every parked event of the subscription or group');
}

/** `es parked list|skip|retry`. */
export function registerParkedCommands(program: Command, context: CommandContext): void {
  const { withBackend, print, sub } = context;

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
            [
              'SUBSCRIPTION',
              'POSITION',
              'STREAM',
              'TYPE',
              'ATTEMPTS',
              'PARKED AT',
              'RETRY REQUESTED',
              'ERROR',
            ],
            events.map((e) => [
              e.subscriptionId,
              e.position.toString(),
              e.streamId,
              e.eventType,
              String(e.attempts),
              e.parkedAt.toISOString(),
              e.retryRequestedAt?.toISOString() ?? '-',
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
  parkedSelection(sub(parked, 'skip').description('drop parked events: they are not handled again'))
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
  parkedSelection(
    sub(parked, 'retry').description(
      "hand parked events to a module's handler again (each one handled is no longer parked), or --request a retry by the running workers",
    ),
  )
    .option('--module <path>', 'module exporting the (fixed) handler: retry here, now')
    .option(
      '--request',
      'mark them for the running worker that owns each one; it retries with its own handler within about a second',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        positions: Position[] | undefined,
        options: { all?: boolean; module?: string; request?: boolean; json?: boolean },
        command: Command,
      ) => {
        if ((options.module === undefined) === (options.request !== true)) {
          throw usageError(
            'Give --module <path> (retry here) or --request (the running workers retry), not both.',
          );
        }
        if (options.request) {
          await withBackend(command, async (backend) => {
            await backend.assertMigrated();
            const targets = await parkedTargets(backend, name, positions ?? [], options.all);
            const requested: { subscriptionId: string; position: Position }[] = [];
            for (const event of targets) {
              if (await backend.requestRetry(event.subscriptionId, event.position))
                requested.push({ subscriptionId: event.subscriptionId, position: event.position });
            }
            if (options.json) return print(toJson({ requested }));
            print(
              `Requested a retry of ${requested.length} parked event(s); the worker owning each one retries it within about a second (see \`es parked list\`).`,
            );
          });
          return;
        }
        await withHandlerModule(options.module!, (handler) =>
          withBackend(command, async (backend) => {
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
          }),
        );
      },
    );
}

async function eventAt(backend: Backend, at: Position): Promise<StoredEvent<DomainEvent>> {
  for await (const event of backend.store.getAllEvents(at - 1n, { toPosition: at, batchSize: 1 })) {
    if (event.position === at) return event;
  }
  throw new CliError('ES_CLI_EVENT_NOT_FOUND', `No event at position ${at} in the log.`);
}
