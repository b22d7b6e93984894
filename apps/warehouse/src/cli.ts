import { parseArgs } from 'node:util';
import { MAX_ID_LENGTH } from '@es/core';
import { PRODUCT_STREAM_PREFIX } from './domain/product-events.js';
import { STOCK_GROUP_PARTITIONS } from './stock-workers.js';

/** The longest SKU: the stream id `product-<sku>` must fit the store's limit. */
export const MAX_SKU_LENGTH = MAX_ID_LENGTH - PRODUCT_STREAM_PREFIX.length;

/** The CLI's help text. */
export const USAGE = `Usage: warehouse [--verbose] <command>

Commands:
  demo            the scripted story (see README.md)
  stock           the stock read model, built by the projection
  history <sku>   every event of a product, in today's shape
  workers <n>     keep the stock list with a consumer group of n worker processes (1 to ${STOCK_GROUP_PARTITIONS}),
                  until Ctrl-C; needs DATABASE_URL (a PostgreSQL server)
  worker          one more worker process of that group (e.g. from another terminal)
  group           the group's members, its partitions (checkpoint, owner) and the stock list it keeps

Options:
  -h, --help      print this help and exit
  -v, --verbose   on an unexpected error, print the stack too

A <sku> is 1 to ${MAX_SKU_LENGTH} characters, e.g. LAMP-01.

Exit codes: 0 done; 1 no such product; 2 bad usage or environment; 3 the command could not run
(store unreachable, busy or unwritable; the line names the error code).

Storage: PGlite in the app's .data folder by default (ES_DATA_DIR moves it; another process using it
is waited for up to ES_LOCK_WAIT_MS, default 30000); DATABASE_URL=postgres://... for a PostgreSQL
server, MONGO_URL=mongodb://... for MongoDB, ES_STORE=memory for nothing kept.`;

/** A command line the CLI understood. */
export type WarehouseCommand =
  | { readonly name: 'demo' | 'stock' | 'worker' | 'group' }
  | { readonly name: 'history'; readonly sku: string }
  | { readonly name: 'workers'; readonly count: number };

/** What the command line asks for: a command, the help, or a usage error saying what is wrong. */
export type ParsedCommandLine =
  | { readonly kind: 'command'; readonly command: WarehouseCommand; readonly verbose: boolean }
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

const ARGUMENTS: Record<WarehouseCommand['name'], readonly string[]> = {
  demo: [],
  stock: [],
  history: ['sku'],
  workers: ['n'],
  worker: [],
  group: [],
};

/** Reads the command line (without `node` and the script) with `util.parseArgs`; opens nothing. */
export function parseCommandLine(args: readonly string[]): ParsedCommandLine {
  let values: { help?: boolean; verbose?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean', short: 'v' } },
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const option = /'(-[^']*)'/.exec(message)?.[1];
    return { kind: 'usage-error', message: option ? `unknown option '${option}'` : message };
  }
  if (values.help) return { kind: 'help' };
  const [name, ...rest] = positionals;
  if (name === undefined) return { kind: 'usage-error', message: 'command missing' };
  if (name === 'help') return { kind: 'help' };
  if (!Object.hasOwn(ARGUMENTS, name)) return { kind: 'usage-error', message: `unknown command '${name}'` };
  const command = name as WarehouseCommand['name'];
  const expected = ARGUMENTS[command];
  const synopsis = `warehouse ${[command, ...expected.map((arg) => `<${arg}>`)].join(' ')}`;
  if (rest.length < expected.length) {
    return { kind: 'usage-error', message: `${expected[rest.length]} missing (usage: ${synopsis})` };
  }
  if (rest.length > expected.length) {
    const extra = rest.slice(expected.length).map((arg) => `'${arg}'`);
    return {
      kind: 'usage-error',
      message: `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')} (usage: ${synopsis})`,
    };
  }
  const verbose = values.verbose === true;
  if (command === 'workers') {
    const count = Number(rest[0]);
    if (!/^\d+$/.test(rest[0]!) || count < 1 || count > STOCK_GROUP_PARTITIONS) {
      return {
        kind: 'usage-error',
        message:
          `n must be a whole number from 1 to ${STOCK_GROUP_PARTITIONS}, got '${rest[0]}' ` +
          `(the group has ${STOCK_GROUP_PARTITIONS} partitions: more workers would sit idle)`,
      };
    }
    return { kind: 'command', command: { name: 'workers', count }, verbose };
  }
  if (command !== 'history') return { kind: 'command', command: { name: command }, verbose };
  const sku = rest[0]!;
  if (sku === '') return { kind: 'usage-error', message: 'sku is empty' };
  if (sku.length > MAX_SKU_LENGTH) {
    return {
      kind: 'usage-error',
      message: `sku is ${sku.length} characters long; at most ${MAX_SKU_LENGTH} are allowed`,
    };
  }
  return { kind: 'command', command: { name: 'history', sku }, verbose };
}
