import { isAggregateNotFoundError } from '@es/core';
import type { Storage } from '@es-samples/storage';
import {
  accountHistory,
  closeAccount,
  createAccountRepository,
  deposit,
  openAccount,
  withdraw,
} from './accounts.js';
import { isBankError } from './domain/account-errors.js';
import { formatBalances, formatEvent, formatProgress } from './format.js';
import { rebuildBalances } from './rebuild-balances.js';

/** The CLI's help text. */
export const USAGE = `Usage: bank <command> [arguments]

  open <id> <owner>        open an account
  deposit <id> <amount>    deposit a whole amount
  withdraw <id> <amount>   withdraw, if the balance covers it
  close <id>               close an empty account
  balance <id>             the account's balance and version
  history <id>             every event of the account
  replay                   rebuild the balances projection from the log, with progress
  demo                     the scripted story (see README.md)

Storage: PGlite in ./.data by default; DATABASE_URL=postgres://... for a PostgreSQL server,
MONGO_URL=mongodb://... for MongoDB, ES_STORE=memory for nothing kept.`;

/**
 * Runs one CLI command (everything but `demo`) and returns the exit code: 0 done, 1 refused by the
 * domain (the message says why), 2 bad usage.
 */
export async function runCommand(
  args: readonly string[],
  storage: Storage,
  print: (line: string) => void = console.log,
): Promise<number> {
  const [command, id = '', value = ''] = args;
  const accounts = createAccountRepository(storage);
  try {
    switch (command) {
      case 'open': {
        if (!id || !value) return usage(print);
        const account = await openAccount(accounts, id, args.slice(2).join(' '));
        print(`opened ${id} for ${account.owner}`);
        return 0;
      }
      case 'deposit':
      case 'withdraw': {
        const amount = Number(value);
        if (!id || !value) return usage(print);
        const change = command === 'deposit' ? deposit : withdraw;
        const account = await change(accounts, id, amount);
        print(`${id}: balance ${account.balance} (version ${account.version})`);
        return 0;
      }
      case 'close': {
        if (!id) return usage(print);
        await closeAccount(accounts, id);
        print(`${id} is closed`);
        return 0;
      }
      case 'balance': {
        if (!id) return usage(print);
        const account = await accounts.getById(id);
        const status = account.isOpen ? 'open' : 'closed';
        print(
          `${id} (${account.owner}, ${status}): balance ${account.balance} at version ${account.version}`,
        );
        return 0;
      }
      case 'history': {
        if (!id) return usage(print);
        const events = await accountHistory(storage.eventStore, id);
        if (events.length === 0) return notFound(print, id);
        for (const event of events) print(formatEvent(event));
        return 0;
      }
      case 'replay': {
        const view = await rebuildBalances(storage.eventStore, {
          batchSize: 100,
          onProgress: (progress) => print(formatProgress(progress)),
        });
        for (const line of formatBalances(view.rows())) print(line);
        print(`money in the bank: ${view.total()}`);
        return 0;
      }
      default:
        return usage(print);
    }
  } catch (error) {
    if (isBankError(error)) {
      print(`refused: ${error.message} [${error.code}]`);
      return 1;
    }
    if (isAggregateNotFoundError(error)) return notFound(print, id);
    throw error;
  }
}

function usage(print: (line: string) => void): number {
  print(USAGE);
  return 2;
}

function notFound(print: (line: string) => void, id: string): number {
  print(`no account "${id}": open it first with "bank open ${id} <owner>"`);
  return 1;
}
