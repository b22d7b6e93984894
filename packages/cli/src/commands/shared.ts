import type { DomainEvent, Position, StoredEvent } from '@es/core';
import { EventReplayer } from '@es/replay';
import type { Backend } from '../backends/backend.js';
import type { CliHandlerModule } from '../handler-module.js';
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
