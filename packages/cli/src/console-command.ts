import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

/**
 * Where the web console's entry point is: `ES_CONSOLE_MAIN` when set, else the console app of the
 * repository this CLI was built in (`apps/console/dist/main.js`). The console is an application of
 * the repository, not a published package, so an `es` installed from the registry needs the variable.
 */
export function consoleEntry(env: NodeJS.ProcessEnv, here: string): string {
  const candidate = env.ES_CONSOLE_MAIN ?? join(here, '..', '..', '..', 'apps', 'console', 'dist', 'main.js');
  if (!existsSync(candidate)) {
    throw new CliError(
      'ES_CLI_CONSOLE_NOT_FOUND',
      `The web console is not at ${candidate}. In the repository, build it (npx -y pnpm@10.34.9 --filter console build); ` +
        'elsewhere, point ES_CONSOLE_MAIN at its dist/main.js.',
    );
  }
  return candidate;
}

/** The directory of this module, in the ESM and the CommonJS build alike. */
export function moduleDirectory(): string {
  return typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
}

/**
 * Runs the web console in the foreground with the connection options of `es` (`--url` becomes the
 * console's `--database-url`) and the arguments after `console`; resolves with its exit code.
 */
export function runConsole(
  connection: { url?: string; dataDir?: string; schema?: string; table?: string },
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const entry = consoleEntry(env, moduleDirectory());
  const forwarded = [
    ...(connection.url ? ['--database-url', connection.url] : []),
    ...(connection.dataDir ? ['--data-dir', connection.dataDir] : []),
    ...(connection.schema ? ['--schema', connection.schema] : []),
    ...(connection.table ? ['--table', connection.table] : []),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...forwarded], { stdio: 'inherit', env });
    const stop = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
