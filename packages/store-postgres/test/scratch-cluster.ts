// A throwaway PostgreSQL cluster for tests that move a database between clusters: initdb into a
// temporary directory, started on a free local port, stopped and removed afterwards. Never the shared
// server: tests here must be free to stop, restore into and promote what they start.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from '@jest/globals';

const run = promisify(execFile);

/** Where initdb, pg_ctl, pg_dump, pg_restore and pg_upgrade are, or undefined when not installed. */
export function findPostgresBinaries(): string | undefined {
  const fromEnv = process.env.ES_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Runs a PostgreSQL binary as the `postgres` OS user when this process is root (initdb refuses
 * root), as the current user otherwise.
 */
export async function runPostgresBinary(
  bin: string,
  tool: string,
  args: readonly string[],
  cwd = tmpdir(),
): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
    : [join(bin, tool), [...args]];
  try {
    const { stdout } = await run(command, commandArgs, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${stderr ?? ''}\n${stdout ?? ''}`, { cause: error });
  }
}

/** A temporary directory the postgres OS user may write to. */
export function scratchDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), `${prefix}-`));
  if (process.getuid?.() === 0) chownSync(directory, uidOf('postgres'), gidOf('postgres'));
  return directory;
}

function uidOf(name: string): number {
  return Number(execFileSync('id', ['-u', name]).toString().trim());
}

function gidOf(name: string): number {
  return Number(execFileSync('id', ['-g', name]).toString().trim());
}

export interface ScratchClusterOptions {
  /** `logical` for a publisher. Defaults to `replica`. */
  readonly walLevel?: 'replica' | 'logical';
  /** Initialise only; call `start()` yourself (pg_upgrade wants a stopped new cluster). */
  readonly start?: boolean;
  /** Further server settings, passed as `-c name=value` at start. Defaults to none. */
  readonly settings?: Readonly<Record<string, string>>;
}

/** One cluster of its own: data directory, port, and the way to stop it. */
export interface ScratchCluster {
  readonly bin: string;
  readonly dataDirectory: string;
  readonly port: number;
  /** A connection string to `database` on this cluster (trust authentication, user postgres). */
  url(database?: string): string;
  start(): Promise<void>;
  /** Stops the cluster (immediate mode) if it runs. */
  stop(): Promise<void>;
  /** Stops the cluster and removes its directory. */
  destroy(): Promise<void>;
  /** Runs one SQL statement with psql and returns its unaligned output. */
  psql(sql: string, database?: string): Promise<string>;
}

/** initdb into a temporary directory and (by default) start on a free port. */
export async function startScratchCluster(
  bin: string,
  options: ScratchClusterOptions = {},
): Promise<ScratchCluster> {
  const root = scratchDirectory('es-cluster');
  const dataDirectory = join(root, 'data');
  const port = await freePort();
  await runPostgresBinary(bin, 'initdb', [
    '-D',
    dataDirectory,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--locale=C',
  ]);
  const cluster = scratchClusterIn(bin, root, dataDirectory, port, options);
  if (options.start !== false) await cluster.start();
  return cluster;
}

/**
 * A cluster whose data directory `dataDirectory` already exists under the scratch directory `root`
 * (initdb'd, or copied by pg_basebackup), served on `port` once started. `destroy()` removes `root`.
 */
export function scratchClusterIn(
  bin: string,
  root: string,
  dataDirectory: string,
  port: number,
  options: ScratchClusterOptions = {},
): ScratchCluster {
  let running = false;
  const cluster: ScratchCluster = {
    bin,
    dataDirectory,
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await runPostgresBinary(bin, 'pg_ctl', [
        '-D',
        dataDirectory,
        '-w',
        '-t',
        '60',
        '-l',
        join(root, 'server.log'),
        '-o',
        `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=${options.walLevel ?? 'replica'}${extraSettings(options.settings)}`,
        'start',
      ]);
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      await runPostgresBinary(bin, 'pg_ctl', ['-D', dataDirectory, '-m', 'fast', '-w', 'stop']);
    },
    async destroy() {
      try {
        await cluster.stop();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    psql: (sql, database = 'postgres') =>
      runPostgresBinary(bin, 'psql', [
        '-X',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        '-d',
        cluster.url(database),
        '-c',
        sql,
      ]),
  };
  return cluster;
}

function extraSettings(settings: Readonly<Record<string, string>> = {}): string {
  return Object.entries(settings)
    .map(([name, value]) => ` -c ${name}=${value}`)
    .join('');
}

/**
 * A suite with a scratch cluster of its own, started before its tests and removed after, for tests
 * that hold transactions open on purpose: on the shared server such a transaction holds back every
 * other test's reads of the global log (a follower sees an event only once every older transaction
 * has ended). Skipped with a reason when the server binaries are missing, failed instead when
 * ES_REQUIRE_SERVICES lists PG_BIN.
 */
export function describeOnScratchCluster(title: string, body: (url: () => string) => void): void {
  const bin = findPostgresBinaries();
  if (!bin) {
    if ((process.env.ES_REQUIRE_SERVICES ?? '').split(',').includes('PG_BIN')) {
      describe(title, () => {
        it('needs the PostgreSQL server binaries (initdb, pg_ctl), which ES_REQUIRE_SERVICES marks as required', () => {
          throw new Error('No PostgreSQL binaries under /usr/lib/postgresql/*/bin or ES_PG_BIN.');
        });
      });
      return;
    }
    const reason = `${title}: skipped because initdb and pg_ctl were not found (install the postgresql package or set ES_PG_BIN).`;
    process.stderr.write(`${reason}\n`);
    describe.skip(reason, () => body(() => ''));
    return;
  }
  describe(title, () => {
    let cluster: ScratchCluster | undefined;
    beforeAll(async () => {
      cluster = await startScratchCluster(bin);
    }, 120_000);
    afterAll(async () => {
      await cluster?.destroy();
    }, 60_000);
    // Nested, so that the suite's own afterAll hooks (closing its pools) run before the cluster stops.
    describe('on a cluster of its own', () => body(() => cluster!.url('postgres')));
  });
}
