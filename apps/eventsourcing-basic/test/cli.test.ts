import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { runCommand } from '../src/cli.js';
import { accountEvents } from '../src/domain/account-events.js';
import { openStorage, type Storage } from '../src/storage.js';
import { temporaryDataDir } from './support.js';

describe('the bank CLI', () => {
  let storage: Storage;
  let dataDir: { path: string; remove(): Promise<void> };
  let output: string[];
  const run = (...args: string[]) => runCommand(args, storage, (line) => output.push(line));

  beforeEach(async () => {
    dataDir = await temporaryDataDir();
    storage = await openStorage({ registry: accountEvents, dataDir: dataDir.path, env: {} });
    output = [];
  });

  afterEach(async () => {
    await storage.close();
    await dataDir.remove();
  });

  it('opens, deposits, withdraws and reports the balance', async () => {
    expect(await run('open', 'dave', 'Dave', 'Smith')).toBe(0);
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
    await run('open', 'hal', 'Hal');
    await run('deposit', 'hal', '7');
    await run('open', 'ivy', 'Ivy');
    output = [];
    expect(await run('replay')).toBe(0);
    expect(output.some((line) => line.includes('3/3 events'))).toBe(true);
    expect(output.at(-1)).toBe('money in the bank: 7');
  });

  it('says what to do for an unknown account or a bad command', async () => {
    expect(await run('balance', 'nobody')).toBe(1);
    expect(output.at(-1)).toContain('open it first');
    expect(await run('transfer')).toBe(2);
    expect(output.at(-1)).toContain('Usage: bank');
  });
});
