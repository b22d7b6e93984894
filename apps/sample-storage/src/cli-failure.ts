import { isStorageChoiceError } from './storage-choice.js';

/** The sample CLIs' exit codes. */
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** The domain refused the command (a rule, an unknown id); the line says why. */
  Refused: 1,
  /** The command line or the environment is wrong; the line says what. */
  Usage: 2,
  /** The command could not run: the store is unreachable, busy or unwritable, or something unexpected. */
  Failed: 3,
} as const;

/** What a CLI prints and returns for an error that no command handled. */
export interface FailureReport {
  readonly exitCode: number;
  /** One line, unless `verbose` asked for the stack too. */
  readonly lines: readonly string[];
}

/**
 * Describes an error no command handled in one line: the environment's mistake (`ES_STORE`) is a
 * usage error (exit 2); anything else (store unreachable, data folder busy or unwritable, a bug) is
 * exit 3, with the error's code. With `verbose`, the stacks follow (the error's and its causes').
 */
export function describeFailure(program: string, error: unknown, verbose = false): FailureReport {
  const usage = isStorageChoiceError(error);
  const code = codeOf(error);
  const message = firstLine(error instanceof Error ? error.message : String(error));
  const lines = [`${program}: ${usage || !code ? '' : `${code}: `}${message}`];
  if (!usage && !verbose) lines[0] += ' (--verbose for details)';
  if (verbose) {
    for (let cause: unknown = error, depth = 0; cause !== undefined && depth < 5; depth++) {
      lines.push(
        depth === 0 ? '' : 'Caused by:',
        cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause),
      );
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return { exitCode: usage ? ExitCode.Usage : ExitCode.Failed, lines };
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code) return code;
  return error instanceof Error ? error.name : undefined;
}

function firstLine(text: string): string {
  const line = text.split('\n').find((part) => part.trim() !== '') ?? '';
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
