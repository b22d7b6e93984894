import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DomainEvent, StoredEvent } from '@es/core';
import { CliError } from './errors.js';

/**
 * What a module given to `--module` exports, as its default export (or as named exports `handler`,
 * `name`, `eventTypes`, `close`): the handler that `es replay`, `es projections rebuild` and
 * `es parked retry` hand events to.
 *
 * @example
 * // balances.mjs
 * export default {
 *   name: 'balances',
 *   eventTypes: ['Deposited', 'Withdrawn'],
 *   async handler(event) { await upsertBalance(event); },
 *   async close() { await pool.end(); },
 * };
 */
export interface CliHandlerModule {
  /** The projection's subscription id; `es projections rebuild` checks it against its argument. */
  readonly name?: string;
  /** Only events of these types are handed over. Defaults to every type. */
  readonly eventTypes?: readonly string[];
  /** Called once per event, in log order; awaited. */
  readonly handler: (event: StoredEvent<DomainEvent>) => unknown;
  /** Called once when the command ends, to release what the module opened. */
  readonly close?: () => unknown;
}

/** Loads a handler module from a path (relative to the working directory). */
export async function loadHandlerModule(path: string): Promise<CliHandlerModule> {
  const file = resolve(path);
  if (!existsSync(file)) throw new CliError('ES_CLI_MODULE_NOT_FOUND', `No module at ${file}.`, 2);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError('ES_CLI_MODULE_FAILED', `Loading ${file} failed: ${reason}`);
  }
  const exported = (loaded.default ?? loaded) as Record<string, unknown> | ((event: unknown) => unknown);
  const shape = typeof exported === 'function' ? { handler: exported } : exported;
  const candidate = shape.handler ?? (shape as { handleEvent?: unknown }).handleEvent;
  if (typeof candidate !== 'function') {
    throw new CliError(
      'ES_CLI_MODULE_INVALID',
      `${file} exports no handler: export default { name, handler(event) { ... }, eventTypes? } or a function.`,
      2,
    );
  }
  const eventTypes = shape.eventTypes;
  if (
    eventTypes !== undefined &&
    !(Array.isArray(eventTypes) && eventTypes.every((t) => typeof t === 'string'))
  ) {
    throw new CliError('ES_CLI_MODULE_INVALID', `${file}: eventTypes must be an array of strings.`, 2);
  }
  return {
    ...(typeof shape.name === 'string' ? { name: shape.name } : {}),
    ...(eventTypes ? { eventTypes: eventTypes as string[] } : {}),
    handler: (event) => (candidate as (event: unknown) => unknown).call(shape, event),
    ...(typeof shape.close === 'function' ? { close: () => (shape.close as () => unknown).call(shape) } : {}),
  };
}
