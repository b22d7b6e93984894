import type { DomainEvent, Position, StoredEvent } from '@es/core';
import { EventReplayer } from '@es/replay';
import type { Backend } from '../backends/backend.js';
import { type CliHandlerModule, loadHandlerModule } from '../handler-module.js';
import type { CliIo } from '../program.js';
import { progressReporter } from '../progress.js';

// Helpers more than one command group uses.

export function eventJson(event: StoredEvent<DomainEvent>) {
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

/** Loads the handler module at `path`, runs `work` with it, and closes it whatever happens. */
export async function withHandlerModule<T>(
  path: string,
  work: (handler: CliHandlerModule) => Promise<T>,
): Promise<T> {
  const handler = await loadHandlerModule(path);
  try {
    return await work(handler);
  } finally {
    await handler.close?.();
  }
}

export async function replayInto(
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
