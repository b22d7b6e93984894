import { openStorage, type Storage } from '@es-samples/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { runCommandLine } from '../src/cli.js';
import { accountEvents } from '../src/domain/account-events.js';
import { temporaryDataDir } from './support.js';

// In process, on storage opened once (the binary itself: binary.test.ts).
// One PGlite database for the file (opening one takes seconds); each test uses its own accounts.
describe('the bank CLI on PGlite', () => {
  let storage: Storage;
  let dataDir: { path: string; remove(): Promise<void> };
  let output: string[];
  const print = { out: (line: string) => output.push(line), err: (line: string) => output.push(line) };
  const run = (...args: string[]) => runCommandLine(args, storage, print);

  beforeAll(async () => {
    dataDir = await temporaryDataDir();
    storage = await openStorage({ registry: accountEvents, schema: 'bank', dataDir: dataDir.path, env: {} });
  }, 180_000);

  afterAll(async () => {
    await storage.close();
    await dataDir.remove();
  });

  beforeEach(() => {
    output = [];
  });

  it('opens, deposits, withdraws and reports the balance', async () => {
    expect(await run('open', 'dave', 'Dave Smith')).toBe(0);
    expect(await run('deposit', 'dave', '250')).toBe(0);
    expect(await run('withdraw', 'dave', '100')).toBe(0);
    expect(await run('balance', 'dave')).toBe(0);
    expect(output.at(-1)).toBe('dave (Dave Smith, open): balance 150 at version 3');
  });

  it('refuses a withdrawal the balance does not cover, with exit code 1, and records nothing', async () => {
    await run('open', 'erin', 'Erin');
    await run('deposit', 'erin', '10');
    expect(await run('withdraw', 'erin', '11')).toBe(1);
    expect(output.at(-1)).toContain('[BANK_INSUFFICIENT_FUNDS]');
    expect(await storage.eventStore.getStreamVersion('account-erin')).toBe(2);
  });

  it('refuses to open an account twice', async () => {
    expect(await run('open', 'fay', 'Fay')).toBe(0);
    expect(await run('open', 'fay', 'Someone else')).toBe(1);
    expect(output.at(-1)).toContain('[BANK_ACCOUNT_EXISTS]');
  });

  it('prints the history, oldest first', async () => {
    await run('open', 'gus', 'Gus');
    await run('deposit', 'gus', '5');
    output = [];
    expect(await run('history', 'gus')).toBe(0);
    expect(output).toHaveLength(2);
    expect(output[0]).toMatch(/^ {2}v1 .*AccountOpened +\{"owner":"Gus"\}$/);
    expect(output[1]).toMatch(/^ {2}v2 .*MoneyDeposited +\{"amount":5\}$/);
  });

  it('rebuilds the balances by replay and prints progress up to the total', async () => {
    const before = (await collect(storage.eventStore.getAllEvents())).length;
    await run('open', 'hal', 'Hal');
    await run('deposit', 'hal', '7');
    await run('open', 'ivy', 'Ivy');
    output = [];
    expect(await run('replay')).toBe(0);
    expect(output.some((line) => line.includes(`${before + 3}/${before + 3} events`))).toBe(true);
    expect(output).toContainEqual(expect.stringMatching(/^hal +Hal +7 +open +2$/));
    expect(output).toContainEqual(expect.stringMatching(/^ivy +Ivy +0 +open +1$/));
  });

  it('says what to do for an unknown account or a bad command', async () => {
    expect(await run('balance', 'nobody')).toBe(1);
    expect(output.at(-1)).toContain('open it first');
    expect(await run('transfer')).toBe(2);
    expect(output.at(-1)).toBe("bank: unknown command 'transfer'");
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
