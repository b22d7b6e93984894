import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseConsoleArgs } from '../src/options.js';

// The built dist/main.js as a user runs it (nx builds it before the tests).
const BIN = join(__dirname, '..', 'dist', 'main.js');

describe('es console on the command line', () => {
  it('refuses a bad port (exit 2) and a folder without a database (exit 3), one line each', () => {
    const port = spawnSync(process.execPath, [BIN, '--port', 'abc'], { encoding: 'utf8' });
    expect(port.status).toBe(2);
    expect(port.stderr).toContain('--port must be 0 to 65535');
    const folder = spawnSync(process.execPath, [BIN, '--data-dir', join(__dirname, 'no-such-folder')], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: '' },
    });
    expect(folder.status).toBe(3);
    expect(folder.stderr).toMatch(/holds no embedded database; run the demo first/);
  });

  it('prints its usage with --help', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--allow-writes');
  });
});

describe('parseConsoleArgs', () => {
  const parse = (args: string[], env: Record<string, string> = {}) =>
    parseConsoleArgs(args, env, '/demo/.data/bank');

  it('defaults to the demo folder, 127.0.0.1:4400, read-only', () => {
    expect(parse([])).toEqual({
      source: { kind: 'pglite', dataDir: '/demo/.data/bank' },
      schema: undefined,
      table: undefined,
      host: '127.0.0.1',
      port: 4400,
      allowWrites: false,
      token: undefined,
    });
  });

  it('reads relative folders from where the command was typed (INIT_CWD)', () => {
    expect(parse(['--data-dir', 'x/y'], { INIT_CWD: '/home/me' })).toMatchObject({
      source: { kind: 'pglite', dataDir: '/home/me/x/y' },
    });
  });

  it('uses DATABASE_URL unless a folder is given', () => {
    expect(parse([], { DATABASE_URL: 'postgres://db/x' })).toMatchObject({
      source: { kind: 'postgres', url: 'postgres://db/x' },
    });
    expect(parse(['--data-dir', '/d'], { DATABASE_URL: 'postgres://db/x' })).toMatchObject({
      source: { kind: 'pglite', dataDir: '/d' },
    });
  });

  it('takes the token only with --allow-writes, and refuses a short one', () => {
    expect(() => parse(['--token', 'abcdefghijklmnop'])).toThrow('--token is only used with --allow-writes');
    expect(() => parse(['--allow-writes', '--token', 'short'])).toThrow('at least 12 characters');
    expect(parse(['--allow-writes', '--token', 'abcdefghijklmnop'])).toMatchObject({
      allowWrites: true,
      token: 'abcdefghijklmnop',
    });
    expect(parse([], { ES_CONSOLE_TOKEN: 'abcdefghijklmnop' })).toMatchObject({ token: undefined });
  });

  it('ignores the "--" that pnpm passes on before the options', () => {
    expect(parse(['--', '--port', '4401'])).toMatchObject({ port: 4401 });
  });

  it('refuses a folder and a URL together', () => {
    expect(() => parse(['--data-dir', '/d', '--database-url', 'postgres://db/x'])).toThrow('not both');
  });
});
