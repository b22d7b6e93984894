// A throwaway PgBouncer in transaction mode in front of the shared test server, for the tests that
// check the stores behind a connection pooler: its own config in a temporary directory, its own
// free port, a small pool (so clients really share server connections), stopped afterwards.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from '@jest/globals';
import { freePort, scratchDirectory } from './scratch-cluster.js';

const run = promisify(execFile);

/** Where the pgbouncer binary is (the Debian package's path, or ES_PGBOUNCER), if installed. */
export function findPgBouncer(): string | undefined {
  const path = process.env.ES_PGBOUNCER ?? '/usr/sbin/pgbouncer';
  return existsSync(path) ? path : undefined;
}

/**
 * Runs `body` when pgbouncer is installed; otherwise skips with the reason, or fails where
 * `ES_REQUIRE_SERVICES` names PGBOUNCER (as CI does), like the PG_BIN requirement of the
 * cluster-move tests.
 */
export function describeWithPgBouncer(title: string, body: (binary: string) => void): void {
  const binary = findPgBouncer();
  if (binary) {
    describe(title, () => body(binary));
    return;
  }
  const required = (process.env.ES_REQUIRE_SERVICES ?? '').split(',').map((name) => name.trim());
  if (required.includes('PGBOUNCER')) {
    describe(title, () => {
      it('needs pgbouncer, which ES_REQUIRE_SERVICES marks as required', () => {
        throw new Error('pgbouncer is not installed (apt-get install pgbouncer, or set ES_PGBOUNCER).');
      });
    });
    return;
  }
  const reason = `${title}: skipped because pgbouncer was not found (apt-get install pgbouncer, or set ES_PGBOUNCER).`;
  process.stderr.write(`${reason}\n`);
  describe.skip(reason, () => body(''));
}

/** A running PgBouncer. */
export interface PgBouncer {
  readonly port: number;
  /** `major * 100 + minor`, e.g. 118 for 1.18. */
  readonly version: number;
  /** A connection string to `database` through the pooler. */
  url(database?: string): string;
  /** Stops it (a clean shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** What the pooler points at. */
export interface PgBouncerOptions {
  /** The server's host and port. Defaults to 127.0.0.1:5432, the shared test server. */
  readonly host?: string;
  readonly port?: number;
  /** The database served. Defaults to `test`. */
  readonly database?: string;
  /** Server connections per database and user. Defaults to 3. */
  readonly poolSize?: number;
}

/** Starts pgbouncer (as the postgres OS user when this process is root: it refuses root). */
export async function startPgBouncer(binary: string, options: PgBouncerOptions = {}): Promise<PgBouncer> {
  const directory = scratchDirectory('es-pgbouncer');
  const port = await freePort();
  const database = options.database ?? 'test';
  const ini = join(directory, 'pgbouncer.ini');
  const pidFile = join(directory, 'pgbouncer.pid');
  writeFileSync(join(directory, 'userlist.txt'), '"postgres" ""\n', { mode: 0o644 });
  writeFileSync(
    ini,
    [
      '[databases]',
      `${database} = host=${options.host ?? '127.0.0.1'} port=${options.port ?? 5432} dbname=${database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${directory}`,
      'auth_type = trust',
      `auth_file = ${join(directory, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 3}`,
      'min_pool_size = 0',
      'max_client_conn = 500',
      // node-postgres sends none of these, but other clients' habits should not fail the tests.
      'ignore_startup_parameters = extra_float_digits',
      `pidfile = ${pidFile}`,
      `logfile = ${join(directory, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const [command, args] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', binary, '-d', ini]]
    : [binary, ['-d', ini]];
  const { stdout: versionText } = await run(binary, ['--version']);
  const [, major = '0', minor = '0'] = /PgBouncer (\d+)\.(\d+)/.exec(versionText) ?? [];
  try {
    await run(command, args);
    await waitForPort(port);
  } catch (error) {
    const log = existsSync(join(directory, 'pgbouncer.log'))
      ? readFileSync(join(directory, 'pgbouncer.log'), 'utf8')
      : '';
    rmSync(directory, { recursive: true, force: true });
    throw new Error(`pgbouncer did not start:\n${log}`, { cause: error });
  }
  return {
    port,
    version: Number(major) * 100 + Number(minor),
    url: (name = database) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    async stop() {
      try {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        // SIGINT: PgBouncer's safe shutdown (waits for clients' transactions, then exits).
        process.kill(pid, 'SIGINT');
        for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
        if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
