import { describe, expect, it } from '@jest/globals';

// Imports the package by its published name, through its exports map and built dist (Conventions 8).
describe('the published @es/store-postgres', () => {
  it('exports the store and migrate(), and ships the SQL migrations in dist', async () => {
    const published = await import('@es/store-postgres');
    expect(typeof published.PostgresEventStore).toBe('function');
    expect(typeof published.migrate).toBe('function');
    const directory = published.defaultMigrationsDirectory();
    expect(directory.replaceAll('\\', '/')).toMatch(/store-postgres\/dist\/migrations\/postgres$/);
    const files = published.readMigrationFiles(directory);
    expect(files[0]?.name).toBe('001_create_event_store.sql');
  });
});
