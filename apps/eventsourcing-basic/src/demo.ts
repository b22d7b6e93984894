import type { EventStore, Snapshot, SnapshotStore } from '@es/core';
import type { Storage } from '@es-samples/storage';
import {
  type AccountRepository,
  accountHistory,
  closeAccount,
  commandRetry,
  createAccountRepository,
  deposit,
  openAccount,
  withdraw,
} from './accounts.js';
import { isBankError } from './domain/account-errors.js';
import { ACCOUNT_STREAM_PREFIX } from './domain/account-events.js';
import { formatBalances, formatEvent, formatProgress, formatSnapshot, formatTime } from './format.js';
import { rebuildBalances } from './rebuild-balances.js';

/** What a demo run found and did; the end-to-end tests check it. */
export interface DemoResult {
  /** True when the accounts were already there: a second run continues the first one's history. */
  readonly continuedEarlierRun: boolean;
  readonly aliceBalance: number;
  readonly aliceVersion: number;
  /** Versions of the snapshots taken during this run. */
  readonly snapshotsTaken: readonly number[];
  /** How many events the replay read to rebuild the balances. */
  readonly replayedEvents: number;
  /** Retries the two concurrent tellers needed (at least 1: they really collided). */
  readonly concurrencyRetries: number;
}

export interface DemoOptions {
  readonly storage: Storage;
  /** Where the story is printed. Defaults to `console.log`. */
  readonly print?: (line: string) => void;
  /** Snapshot frequency. Defaults to every 5 events. */
  readonly snapshotEvery?: number;
}

/**
 * The scripted story: open accounts, deposit, a refused withdrawal, a closed account, two tellers
 * updating the same account at once, a snapshot, and the balances projection rebuilt by replay.
 * Run it twice against a persistent store and the second run continues the first one's history.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const print = options.print ?? console.log;
  const { storage } = options;
  const snapshotsTaken: number[] = [];
  const snapshotStore = reportingSnapshots(storage.snapshots, (snapshot) => {
    if (snapshot.streamId.startsWith(ACCOUNT_STREAM_PREFIX)) snapshotsTaken.push(snapshot.aggregateVersion);
    print(`     [snapshot] ${formatSnapshot(snapshot)}`);
  });
  const accounts = createAccountRepository({
    eventStore: storage.eventStore,
    snapshots: snapshotStore,
    snapshotEvery: options.snapshotEvery ?? 5,
  });

  print('Event sourcing demo: a bank account');
  print(`Storage: ${storage.description}`);

  print('\n1. Opening accounts');
  const continuedEarlierRun = await accounts.exists('alice');
  await openOrGreet(accounts, storage.eventStore, 'alice', 'Alice', print);
  await openOrGreet(accounts, storage.eventStore, 'bob', 'Bob', print);

  print('\n2. Deposits and a withdrawal: each command is one event appended to the account stream');
  for (const [id, amount] of [
    ['alice', 100],
    ['alice', 50],
    ['bob', 40],
  ] as const) {
    const account = await deposit(accounts, id, amount);
    print(`   ${id} +${amount} -> balance ${account.balance} (version ${account.version})`);
  }
  const afterWithdrawal = await withdraw(accounts, 'alice', 30);
  print(`   alice -30 -> balance ${afterWithdrawal.balance} (version ${afterWithdrawal.version})`);

  print('\n3. A withdrawal the balance does not cover is refused, and nothing is recorded');
  const bob = await accounts.getById('bob');
  await refused(print, `bob (balance ${bob.balance}) withdraws ${bob.balance + 100}`, () =>
    withdraw(accounts, 'bob', bob.balance + 100),
  );
  print(`   bob is still at version ${await accounts.getVersion('bob')}`);

  print('\n4. A closed account accepts nothing more');
  if (!(await accounts.exists('carol'))) {
    await openAccount(accounts, 'carol', 'Carol');
    await closeAccount(accounts, 'carol', 'moved abroad');
    print('   carol opened and closed');
  } else {
    print('   carol was closed in an earlier run');
  }
  await refused(print, 'carol +10', () => deposit(accounts, 'carol', 10));

  print('\n5. Two tellers update alice at the same moment');
  const concurrencyRetries = await twoTellers(accounts, print);

  print(`\n6. Snapshots: one every ${options.snapshotEvery ?? 5} events, so loading reads only what follows`);
  const snapshot = await snapshotStore.load(`${ACCOUNT_STREAM_PREFIX}alice`);
  const aliceVersion = await accounts.getVersion('alice');
  if (snapshot) {
    print(
      `   loading alice reads the snapshot at version ${snapshot.aggregateVersion} ` +
        `plus ${aliceVersion - snapshot.aggregateVersion} later event(s) instead of all ${aliceVersion}`,
    );
  }
  const alice = await accounts.getById('alice');
  print(`   alice: balance ${alice.balance} at version ${alice.version}`);

  print('\n7. The balances projection, thrown away and rebuilt by replaying the log');
  print("   (position = the event's place in the global log: large, increasing, not dense)");
  const replayedEvents = await replayBalances(storage, print);

  print('\n8. The history of alice, as stored');
  const history = await accountHistory(storage.eventStore, 'alice');
  if (history.length > 8) {
    print(`   ... ${history.length - 8} earlier event(s), the first at ${formatTime(history[0]!.timestamp)}`);
  }
  for (const event of history.slice(-8)) print(`   ${formatEvent(event)}`);

  print(
    continuedEarlierRun
      ? '\nThis run continued the history of an earlier one. Run it again and it grows further.'
      : storage.kind === 'memory'
        ? '\nDone. The in-memory store forgets everything when the process exits.'
        : '\nDone. Run the demo again: the second run finds these accounts and continues their history.',
  );
  return {
    continuedEarlierRun,
    aliceBalance: alice.balance,
    aliceVersion: alice.version,
    snapshotsTaken,
    replayedEvents,
    concurrencyRetries,
  };
}

async function openOrGreet(
  accounts: AccountRepository,
  eventStore: EventStore,
  id: string,
  owner: string,
  print: (line: string) => void,
): Promise<void> {
  const existing = await accounts.find(id);
  if (existing) {
    const [opened] = await accountHistory(eventStore, id);
    print(
      `   ${id} is already here from an earlier run (opened ${opened ? formatTime(opened.timestamp) : '?'}): ` +
        `balance ${existing.balance}, version ${existing.version}. Its history continues.`,
    );
    return;
  }
  const account = await openAccount(accounts, id, owner);
  print(`   opened ${id} for ${owner} (stream ${ACCOUNT_STREAM_PREFIX}${id}, version ${account.version})`);
}

async function refused(print: (line: string) => void, what: string, command: () => Promise<unknown>) {
  try {
    await command();
    throw new Error(`the demo expected "${what}" to be refused`);
  } catch (error) {
    if (!isBankError(error)) throw error;
    print(`   ${what}: refused with ${error.name} (${error.code})`);
    print(`     "${error.message}"`);
  }
}

// Both tellers load alice before either saves (the barrier makes the race certain); one save wins,
// the other gets a ConcurrencyConflictError, and `update` reloads and runs its change again.
async function twoTellers(accounts: AccountRepository, print: (line: string) => void): Promise<number> {
  const bothLoaded = barrier(2);
  let retries = 0;
  const teller = (name: string, amount: number) =>
    accounts.update(
      'alice',
      async (account) => {
        print(`   ${name} loaded alice at version ${account.version} and deposits ${amount}`);
        await bothLoaded();
        account.deposit(amount);
      },
      {
        ...commandRetry,
        onRetry: (error, attempt) => {
          retries++;
          const detail = error instanceof Error ? error.name : String(error);
          print(`   ${name}'s save (attempt ${attempt}) was refused with ${detail}: reloading and retrying`);
        },
      },
    );
  const [first, second] = await Promise.all([teller('teller 1', 25), teller('teller 2', 15)]);
  const last = Math.max(first.version, second.version);
  const final = await accounts.getById('alice');
  print(`   both deposits are in: alice is at version ${last} with balance ${final.balance}`);
  return retries;
}

// Rebuilds the balances from the log with a progress bar, one line per quarter of the way.
async function replayBalances(storage: Storage, print: (line: string) => void): Promise<number> {
  let replayedEvents = 0;
  let lastQuarter = -1;
  let waited = false;
  const view = await rebuildBalances(storage.eventStore, {
    batchSize: 10,
    // The view must include everything this run wrote (see `until` for why it may have to wait).
    until: await lastPosition(storage, ['alice', 'bob', 'carol']),
    onWait: () => {
      if (!waited)
        print(
          '   (a transaction elsewhere in the database is still open; the log shows nothing past it yet)',
        );
      waited = true;
      lastQuarter = -1;
    },
    onProgress: (progress) => {
      replayedEvents = progress.processed;
      const quarter = progress.total === 0 ? 4 : Math.floor((4 * progress.processed) / progress.total);
      if (quarter === lastQuarter) return;
      lastQuarter = quarter;
      print(`   ${formatProgress(progress)}`);
    },
  });
  for (const line of formatBalances(view.rows())) print(`   ${line}`);
  print(`   money in the bank: ${view.total()}`);
  return replayedEvents;
}

// The position of the last event of these accounts: the rebuilt view must include it.
async function lastPosition(storage: Storage, ids: readonly string[]): Promise<bigint> {
  let last = 0n;
  for (const id of ids) {
    const events = await accountHistory(storage.eventStore, id);
    const position = events.at(-1)?.position ?? 0n;
    if (position > last) last = position;
  }
  return last;
}

// Resolves for everyone once `count` callers are waiting; later callers pass straight through.
function barrier(count: number): () => Promise<void> {
  let waiting = 0;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    waiting++;
    if (waiting >= count) release();
    return released;
  };
}

// Reports every snapshot the repository saves, so the demo can show when one is taken.
function reportingSnapshots(store: SnapshotStore, report: (snapshot: Snapshot) => void): SnapshotStore {
  return {
    save: async (snapshot) => {
      await store.save(snapshot);
      report(snapshot);
    },
    load: (streamId) => store.load(streamId),
    delete: (streamId) => store.delete(streamId),
  };
}
