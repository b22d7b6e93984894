import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isInvalidArgumentError } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { Long } from 'mongodb';
import { assertMigrationSequence, MONGO_MIGRATIONS, parseMigration } from './migrations.js';

const DIRECTORY = join(__dirname, '../../../../migrations/mongo');

describe('migrations/mongo', () => {
  const jsonIn = (directory: string) =>
    readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .map((name) => ({ name, path: join(directory, name) }));
  const located = jsonIn(DIRECTORY).sort((a, b) => (a.name < b.name ? -1 : 1));
  const files = located.map((file) => file.name);

  it('bundles every file of the folder, in order, each named after its version', () => {
    expect(files.length).toBe(MONGO_MIGRATIONS.length);
    files.forEach((file, index) => {
      const migration = MONGO_MIGRATIONS[index]!;
      expect(file).toMatch(/^\d{3}_[a-z0-9_]+\.json$/);
      expect(Number(file.slice(0, 3))).toBe(migration.version);
      expect(parseMigration(JSON.parse(readFileSync(located[index]!.path, 'utf8')), file)).toEqual(migration);
    });
  });

  it('define the unique (streamId, version) and (streamId, eventId) indexes and the by-type index', () => {
    const events = MONGO_MIGRATIONS.filter((m) => m.collection === 'events').flatMap((m) => m.createIndexes);
    expect(events).toEqual(
      expect.arrayContaining([
        { name: 'stream_version', key: { streamId: 1, version: 1 }, unique: true },
        { name: 'stream_event_id', key: { streamId: 1, eventId: 1 }, unique: true },
        { name: 'type_position', key: { type: 1, _id: 1 } },
      ]),
    );
  });

  it('seed the position counter at an Int64 zero (Extended JSON)', () => {
    const seed = MONGO_MIGRATIONS.find((m) => m.collection === 'positions')!.seed;
    expect(seed).toEqual([{ _id: 'position', value: Long.fromNumber(0) }]);
    expect(seed[0]!.value).toBeInstanceOf(Long);
  });

  it('refuse malformed files and out-of-order versions', () => {
    const bad = [
      { version: 0, collection: 'events', description: 'x' },
      { version: 1, collection: 'users', description: 'x' },
      { version: 1, collection: 'events', description: 'x', createIndexes: [{ name: 'a b', key: { a: 1 } }] },
      {
        version: 1,
        collection: 'events',
        description: 'x',
        createIndexes: [{ name: 'a', key: { a: 'text' } }],
      },
      { version: 1, collection: 'positions', description: 'x', seed: [{ value: 1 }] },
    ];
    for (const raw of bad) {
      expect(() => parseMigration(raw, 'bad.json')).toThrow();
    }
    let error: unknown;
    try {
      assertMigrationSequence([MONGO_MIGRATIONS[1]!]);
    } catch (e) {
      error = e;
    }
    expect(isInvalidArgumentError(error)).toBe(true);
  });
});
