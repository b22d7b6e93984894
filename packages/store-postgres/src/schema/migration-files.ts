import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@es/core';

/** One SQL migration file: `NNN_description.sql`. */
export interface MigrationFile {
  /** The number NNN: files apply in this order, each once per schema and table. */
  readonly version: number;
  /** The file name, e.g. `001_create_event_store.sql`. */
  readonly name: string;
  readonly sql: string;
  /** SHA-256 of the SQL, recorded when applied. */
  readonly checksum: string;
}

const FILE_NAME = /^(\d{3})_[A-Za-z0-9_.-]+\.sql$/;

/**
 * Where the migrations of this package are: `dist/migrations/postgres` in the published package
 * (the build copies them there), or the repository's `migrations/postgres` when running from source.
 */
export function defaultMigrationsDirectory(): string {
  const candidates = [
    // dist/index.js (everything is bundled into dist/, next to dist/migrations)
    join(__dirname, 'migrations', 'postgres'),
    // src/schema/migration-files.ts, run from source by the tests
    join(__dirname, '..', '..', '..', '..', 'migrations', 'postgres'),
  ];
  const found = candidates.find((directory) => existsSync(directory));
  if (!found) {
    throw new InvalidArgumentError(
      'migrationsDirectory',
      `no migrations/postgres directory found (looked in ${candidates.join(', ')}).`,
    );
  }
  return found;
}

/** Reads every `NNN_*.sql` file of `directory`, sorted by version; refuses duplicate versions. */
export function readMigrationFiles(directory = defaultMigrationsDirectory()): MigrationFile[] {
  const files = readdirSync(directory)
    .filter((name) => FILE_NAME.test(name))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(directory, name), 'utf8');
      return {
        version: Number(FILE_NAME.exec(name)![1]),
        name,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.version === files[i - 1]!.version) {
      throw new InvalidArgumentError(
        'migrationsDirectory',
        `${files[i - 1]!.name} and ${files[i]!.name} share version ${files[i]!.version}.`,
      );
    }
  }
  if (files.length === 0) {
    throw new InvalidArgumentError('migrationsDirectory', `${directory} holds no NNN_*.sql file.`);
  }
  return files;
}
