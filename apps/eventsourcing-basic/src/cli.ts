import { parseArgs } from 'node:util';
import { isAggregateNotFoundError, MAX_ID_LENGTH } from '@es/core';
import { ExitCode, type Storage } from '@es-samples/storage';
import {
  accountHistory,
  closeAccount,
  createAccountRepository,
  deposit,
  openAccount,
  withdraw,
} from './accounts.js';
import { isBankError } from './domain/account-errors.js';
import { ACCOUNT_STREAM_PREFIX } from './domain/account-events.js';
import { formatBalances, formatEvent, formatProgress } from './format.js';
import { rebuildBalances } from './rebuild-balances.js';

/** The longest account id: the stream id `account-<id>` must fit the store's limit. */
export const MAX_ACCOUNT_ID_LENGTH = MAX_ID_LENGTH - ACCOUNT_STREAM_PREFIX.length;

/** The CLI's help text. */
export const USAGE = `Usage: bank [--verbose] <command> [arguments]

Commands:
  open <id> <owner>        open an account (quote an owner with spaces: "Dave Smith")
  deposit <id> <amount>    deposit an amount
  withdraw <id> <amount>   withdraw, if the balance covers it
  close <id>               close an empty account
  balance <id>             the account's balance and version
  history <id>             every event of the account
  replay                   rebuild the balances projection from the log, with progress
  demo                     the scripted story (see README.md)

Options:
  -h, --help               print this help and exit
  -v, --verbose            on an unexpected error, print the stack too

An <id> is 1 to ${MAX_ACCOUNT_ID_LENGTH} characters. An <amount> is a positive whole number written in
decimal digits, 1 to ${Number.MAX_SAFE_INTEGER} (no sign, decimal point, exponent or hex: "250").

Exit codes: 0 done; 1 refused by the bank (the line says why); 2 bad usage or environment;
3 the command could not run (store unreachable, busy or unwritable; the line names the error code).

Storage: PGlite in the app's .data folder by default (ES_DATA_DIR moves it; another bank process
using it is waited for up to ES_LOCK_WAIT_MS, default 30000); DATABASE_URL=postgres://... for a
PostgreSQL server, MONGO_URL=mongodb://... for MongoDB, ES_STORE=memory for nothing kept.`;

/** A command line the CLI understood. */
export type BankCommand =
  | { readonly name: 'open'; readonly id: string; readonly owner: string }
  | { readonly name: 'deposit' | 'withdraw'; readonly id: string; readonly amount: number }
  | { readonly name: 'close' | 'balance' | 'history'; readonly id: string }
  | { readonly name: 'replay' }
  | { readonly name: 'demo' };

/** What the command line asks for: a command, the help, or a usage error saying what is wrong. */
export type ParsedCommandLine =
  | { readonly kind: 'command'; readonly command: BankCommand; readonly verbose: boolean }
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

const ARGUMENTS: Record<BankCommand['name'], readonly string[]> = {
  open: ['id', 'owner'],
  deposit: ['id', 'amount'],
  withdraw: ['id', 'amount'],
  close: ['id'],
  balance: ['id'],
  history: ['id'],
  replay: [],
  demo: [],
};

/** Reads the command line (without `node` and the script) with `util.parseArgs`; opens nothing. */
export function parseCommandLine(args: readonly string[]): ParsedCommandLine {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    return { kind: 'usage-error', message: optionProblem(error) };
  }
  if (parsed.values.help) return { kind: 'help' };
  const [name, ...rest] = parsed.positionals;
  if (name === undefined) return usageError('command missing');
  if (name === 'help') return { kind: 'help' };
  if (!Object.hasOwn(ARGUMENTS, name)) return usageError(`unknown command '${name}'`);
  const command = name as BankCommand['name'];
  const expected = ARGUMENTS[command];
  const synopsis = `bank ${[command, ...expected.map((arg) => `<${arg}>`)].join(' ')}`;
  if (rest.length < expected.length) {
    return usageError(`${expected[rest.length]} missing (usage: ${synopsis})`);
  }
  if (rest.length > expected.length) {
    const extra = rest.slice(expected.length).map((arg) => `'${arg}'`);
    return usageError(
      `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')} (usage: ${synopsis})`,
    );
  }
  const verbose = parsed.values.verbose === true;
  if (command === 'replay') return { kind: 'command', command: { name: command }, verbose };
  if (command === 'demo') return { kind: 'command', command: { name: command }, verbose };

  const id = rest[0]!;
  const idProblem = checkId(id);
  if (idProblem) return usageError(idProblem);
  switch (command) {
    case 'open':
      if (rest[1]!.trim() === '') return usageError('owner is empty');
      return { kind: 'command', command: { name: command, id, owner: rest[1]! }, verbose };
    case 'deposit':
    case 'withdraw': {
      const amount = parseAmount(rest[1]!);
      if (typeof amount === 'string') return usageError(amount);
      return { kind: 'command', command: { name: command, id, amount }, verbose };
    }
    default:
      return { kind: 'command', command: { name: command, id }, verbose };
  }
}

function parseOptions(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
}

// parseArgs's own messages are long and mention `--` terminators; say it the CLI's way.
function optionProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-[^']*)'/.exec(message)?.[1];
  if (option && /^-[\d.]/.test(option)) {
    return `amount '${option}' is refused: an amount is a positive whole number, e.g. 250`;
  }
  return option ? `unknown option '${option}'` : message;
}

function usageError(message: string): ParsedCommandLine {
  return { kind: 'usage-error', message };
}

/** Why an id is refused, with the length the user typed; undefined when it is fine. */
function checkId(id: string): string | undefined {
  if (id === '') return 'id is empty';
  if (id.length > MAX_ACCOUNT_ID_LENGTH) {
    return `id is ${id.length} characters long; at most ${MAX_ACCOUNT_ID_LENGTH} are allowed`;
  }
  return undefined;
}

/** The amount, or why it is refused: decimal digits only, greater than 0, a safe integer. */
export function parseAmount(text: string): number | string {
  if (!/^\d+$/.test(text)) {
    return `amount '${text}' is refused: an amount is a positive whole number in decimal digits, e.g. 250`;
  }
  const amount = Number(text);
  if (amount === 0) return `amount '${text}' is refused: it must be greater than 0`;
  if (!Number.isSafeInteger(amount)) {
    return `amount '${text}' is refused: at most ${Number.MAX_SAFE_INTEGER}`;
  }
  return amount;
}

/** Where the CLI writes: results to `out` (stdout), refusals and errors to `err` (stderr). */
export interface CliOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const consoleOutput: CliOutput = { out: console.log, err: console.error };

/**
 * Runs one command (everything but `demo`) and returns the exit code: 0 done, 1 refused by the
 * domain (one line on `err` says why). Other errors are thrown for the caller to report.
 */
export async function runCommand(
  command: Exclude<BankCommand, { name: 'demo' }>,
  storage: Storage,
  output: CliOutput = consoleOutput,
): Promise<number> {
  const { out, err } = output;
  const accounts = createAccountRepository(storage);
  try {
    switch (command.name) {
      case 'open': {
        const account = await openAccount(accounts, command.id, command.owner);
        out(`opened ${command.id} for ${account.owner}`);
        return ExitCode.Ok;
      }
      case 'deposit':
      case 'withdraw': {
        const change = command.name === 'deposit' ? deposit : withdraw;
        const account = await change(accounts, command.id, command.amount);
        out(`${command.id}: balance ${account.balance} (version ${account.version})`);
        return ExitCode.Ok;
      }
      case 'close': {
        await closeAccount(accounts, command.id);
        out(`${command.id} is closed`);
        return ExitCode.Ok;
      }
      case 'balance': {
        const account = await accounts.getById(command.id);
        const status = account.isOpen ? 'open' : 'closed';
        out(
          `${command.id} (${account.owner}, ${status}): balance ${account.balance} at version ${account.version}`,
        );
        return ExitCode.Ok;
      }
      case 'history': {
        const events = await accountHistory(storage.eventStore, command.id);
        if (events.length === 0) return notFound(err, command.id);
        for (const event of events) out(formatEvent(event));
        return ExitCode.Ok;
      }
      case 'replay': {
        const view = await rebuildBalances(storage.eventStore, {
          batchSize: 100,
          onProgress: (progress) => out(formatProgress(progress)),
        });
        for (const line of formatBalances(view.rows())) out(line);
        out(`money in the bank: ${view.total()}`);
        return ExitCode.Ok;
      }
      default:
        throw new Error(`unhandled command ${JSON.stringify(command satisfies never)}`);
    }
  } catch (error) {
    if (isBankError(error)) {
      err(`bank: refused: ${error.message} [${error.code}]`);
      return ExitCode.Refused;
    }
    if (isAggregateNotFoundError(error) && 'id' in command) return notFound(err, command.id);
    throw error;
  }
}

function notFound(err: (line: string) => void, id: string): number {
  err(`bank: no account '${id}': open it first with "bank open ${id} <owner>"`);
  return ExitCode.Refused;
}

/**
 * Parses and runs a command line on storage that is already open (in-process tests use it): help
 * and usage errors as the binary prints them, `demo` refused as a usage error.
 */
export async function runCommandLine(
  args: readonly string[],
  storage: Storage,
  output: CliOutput = consoleOutput,
): Promise<number> {
  const parsed = parseCommandLine(args);
  if (parsed.kind === 'help') {
    output.out(USAGE);
    return ExitCode.Ok;
  }
  if (parsed.kind === 'usage-error' || parsed.command.name === 'demo') {
    output.err(`bank: ${parsed.kind === 'usage-error' ? parsed.message : 'demo is not run here'}`);
    return ExitCode.Usage;
  }
  return runCommand(parsed.command, storage, output);
}
