/**
 * A failure of the `es` command itself (a bad argument, a missing connection, a module without a
 * handler). Printed as one line, `es: <code>: <message>`, and ends the process with `exitCode`.
 *
 * @example
 * throw new CliError('ES_CLI_NO_CONNECTION', 'Say where the store is: --url, --data-dir or --mongo-url.', 2);
 */
export class CliError extends Error {
  /** A stable code, `ES_CLI_*`, for scripts to match on. */
  readonly code: string;
  /** The process exit code: 2 for a usage error, 1 otherwise. */
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A usage error (exit code 2): a missing or malformed option or argument. */
export function usageError(message: string, code = 'ES_CLI_USAGE'): CliError {
  return new CliError(code, message, 2);
}

/** The one line printed for an error: its code (the toolkit's `error.code`, or a CLI code) and message. */
export function errorLine(error: unknown): { line: string; exitCode: number } {
  if (error instanceof CliError) {
    return { line: `es: ${error.code}: ${oneLine(error.message)}`, exitCode: error.exitCode };
  }
  const raw =
    error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string'
      ? String((error as { code: string }).code)
      : undefined;
  const code =
    raw === undefined ? 'ES_CLI_UNEXPECTED' : raw.startsWith('ES_') ? raw : (DRIVER_CODES[raw] ?? raw);
  const message = error instanceof Error ? error.message : String(error);
  return { line: `es: ${code}: ${oneLine(message)}`, exitCode: 1 };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * A driver's error that reached the command line unwrapped (the listings query tables directly),
 * named like the toolkit's errors: PostgreSQL SQLSTATEs and Node's network codes.
 */
const DRIVER_CODES: Readonly<Record<string, string>> = {
  '3D000': 'ES_STORE_DATABASE_NOT_FOUND',
  '28P01': 'ES_STORE_AUTHENTICATION_FAILED',
  '28000': 'ES_STORE_AUTHENTICATION_FAILED',
  '42501': 'ES_STORE_PERMISSION_DENIED',
  '42P01': 'ES_STORE_NOT_MIGRATED',
  '3F000': 'ES_STORE_NOT_MIGRATED',
  '57P03': 'ES_EVENT_STORE_UNAVAILABLE',
  ECONNREFUSED: 'ES_EVENT_STORE_UNAVAILABLE',
  ECONNRESET: 'ES_EVENT_STORE_UNAVAILABLE',
  ENOTFOUND: 'ES_EVENT_STORE_UNAVAILABLE',
  ETIMEDOUT: 'ES_EVENT_STORE_UNAVAILABLE',
  EAI_AGAIN: 'ES_EVENT_STORE_UNAVAILABLE',
};
