import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DomainEvent, ExpectedVersion } from '@es/core';
import { openEmbeddedPostgres, PostgresEventStore } from '@es/store-postgres';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CLI, es, moduleDir } from './run-cli.js';

// Creating a PGlite data directory takes a while on a busy machine.
jest.setTimeout(240_000);

const EVENTS = 300;

describe('es against a PGlite data directory', () => {
  let root: string;
  let dataDir: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'es-cli-pglite-'));
    dataDir = join(root, 'db');
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('migrate --dry-run prints the SQL and creates no table; migrate does', async () => {
    const dry = await es(['--data-dir', dataDir, 'migrate', '--dry-run']);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toMatch(/^-- Dry run: \d+ migration\(s\) would be applied to PGlite data directory /);
    expect(dry.stdout).toContain('-- 003_create_checkpoints.sql');
    const notYet = await es(['--data-dir', dataDir, 'stats']);
    expect(notYet).toMatchObject({ code: 1 });
    expect(notYet.stderr).toMatch(/^es: ES_STORE_NOT_MIGRATED: /);

    const migrated = await es(['--data-dir', dataDir, 'migrate']);
    expect(migrated).toMatchObject({ code: 0 });
    expect(migrated.stdout).toContain('applied 001_create_event_store.sql');
  });

  it('lists and shows what the library appended, tails from the start, and names the lock holder', async () => {
    const embedded = await openEmbeddedPostgres({ dataDir });
    try {
      const store = new PostgresEventStore({ connection: embedded.db });
      const events: DomainEvent[] = [];
      for (let i = 0; i < EVENTS; i++) events.push({ type: i % 2 === 0 ? 'Ticked' : 'Tocked', data: { i } });
      await store.appendEvents('clock-1', ExpectedVersion.NoStream, events.slice(0, 100));
      await store.appendEvents('clock-2', ExpectedVersion.NoStream, events.slice(100));
      await store.close();
      // PGlite is one process at a time: while this test holds the folder, es says who does.
      const locked = await es(['--data-dir', dataDir, 'stats']);
      expect(locked).toMatchObject({ code: 1 });
      expect(locked.stderr).toMatch(/^es: ES_EMBEDDED_DATABASE_LOCKED: /);
    } finally {
      await embedded.close();
    }

    const listed = JSON.parse((await es(['--data-dir', dataDir, 'streams', 'list', '--json'])).stdout);
    expect(listed.streams.map((s: { streamId: string; version: number }) => [s.streamId, s.version])).toEqual(
      [
        ['clock-1', 100],
        ['clock-2', 200],
      ],
    );
    const shown = await es(['--data-dir', dataDir, 'streams', 'show', 'clock-1', '--limit', '2']);
    expect(shown.stdout).toMatch(/^2\s+\d+\s+\S+\s+Tocked\s+\{"i":1\}$/m);
    const tail = await es([
      '--data-dir',
      dataDir,
      'tail',
      '--from-start',
      '--type',
      'Tocked',
      '--count',
      '2',
    ]);
    expect(tail).toMatchObject({ code: 0 });
    expect(tail.stdout).toMatch(/^\d+ \S+ clock-1@2 Tocked \{"i":1\}\n\d+ \S+ clock-1@4 Tocked \{"i":3\}\n$/);
  });

  it('replay without a terminal prints plain progress lines', async () => {
    const dir = moduleDir({ 'count.mjs': 'let n = 0; export default { handler() { n++; } };' });
    const result = await es([
      '--data-dir',
      dataDir,
      'replay',
      '--module',
      join(dir, 'count.mjs'),
      '--batch-size',
      '50',
    ]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^Replayed 300 events up to position \d+/);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /^replay: 300\/300 events \(100%\), \d+ events\/s, ETA 0s$/,
    );
    expect(result.stderr).not.toContain(String.fromCharCode(27));
  });

  // A real terminal: es runs in a tmux pane and the pane's text is read back.
  const tmux = spawnSync('tmux', ['-V']).status === 0;
  (tmux ? it : it.skip)(
    'replay in a terminal (tmux) shows a live bar with the rate and the ETA',
    async () => {
      const dir = moduleDir({
        'slow.mjs': 'export default { async handler() { await new Promise((r) => setTimeout(r, 10)); } };',
      });
      const session = `es-cli-${process.pid}`;
      const command = [
        process.execPath,
        CLI,
        '--data-dir',
        dataDir,
        'replay',
        '--module',
        join(dir, 'slow.mjs'),
        '--batch-size',
        '20',
      ]
        .map((arg) => `'${arg}'`)
        .join(' ');
      execFileSync('tmux', [
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        '150',
        '-y',
        '15',
        `${command}; echo ES-EXIT=$?; sleep 120`,
      ]);
      const captures: string[] = [];
      try {
        for (;;) {
          const pane = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
          captures.push(pane);
          if (pane.includes('ES-EXIT=')) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session]);
      }
      const last = captures.at(-1)!;
      expect(last).toContain('ES-EXIT=0');
      expect(last).toMatch(/replay \[[█░]{40}\] 100% \| 300\/300 events \| \d+ events\/s \| ETA 0s/);
      expect(last).toMatch(/Replayed 300 events/);
      // While it ran, the bar stood part way, with a rate and an estimate of the time left.
      const partial = captures
        .map((pane) =>
          /replay \[[█░]{40}\] (\d+)% \| (\d+)\/300 events \| (\d+) events\/s \| ETA (\S+)/.exec(pane),
        )
        .filter((match) => match !== null && Number(match[1]) < 100);
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.some((match) => Number(match![3]) > 0 && /^\d/.test(match![4]!))).toBe(true);
      // The data directory lock was released: another command opens it.
      expect((await es(['--data-dir', dataDir, 'stats', '--json'])).code).toBe(0);
      expect(readFileSync(join(dir, 'slow.mjs'), 'utf8')).toContain('handler');
    },
  );
  if (!tmux && process.env.CI) {
    // .ci/run installs tmux: in CI a missing tmux is a failure, not a skip.
    it('needs tmux, which CI installs', () => {
      throw new Error('tmux is not installed: apt-get install -y tmux');
    });
  } else if (!tmux) {
    process.stderr.write(
      'es replay terminal test: skipped because tmux is not installed (apt-get install tmux).\n',
    );
  }
});
