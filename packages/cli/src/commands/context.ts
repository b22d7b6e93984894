import type { Position } from '@es/core';
import type { Command } from 'commander';
import type { Backend } from '../backends/backend.js';
import { usageError } from '../errors.js';
import type { CliIo } from '../program.js';

/** What buildProgram hands every command group: where to read and write, and its shared helpers. */
export interface CommandContext {
  readonly io: CliIo;
  /** Opens the store, runs `work`, closes the store whatever happens. */
  readonly withBackend: <T>(command: Command, work: (backend: Backend) => Promise<T>) => Promise<T>;
  /** Writes `text` and a newline on stdout. */
  readonly print: (text: string) => boolean;
  /** Adds the sub-command `name` to `parent`, with the program's exit override and output. */
  readonly sub: (parent: Command, name: string) => Command;
}

// Option parsers: a usage error (exit code 2) names the option and the value it got.
export const integer =
  (name: string, min = 0) =>
  (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min)
      throw usageError(`${name} takes a whole number ≥ ${min}, got "${value}".`);
    return Number(value);
  };
export const position =
  (name: string) =>
  (value: string): Position => {
    if (!/^\d+$/.test(value))
      throw usageError(`${name} takes a global position (a whole number), got "${value}".`);
    return BigInt(value);
  };
export const collect = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  ...value.split(','),
];
