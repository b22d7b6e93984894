import { describe, expect, it } from '@jest/globals';
import { chooseStorage } from './storage-choice.js';

const defaults = { dataDir: '/app/.data/shop', schema: 'shop' };

describe('chooseStorage', () => {
  it('runs on PGlite in the data folder when nothing is set', () => {
    expect(chooseStorage({}, defaults)).toEqual({
      kind: 'pglite',
      dataDir: '/app/.data/shop',
      schema: 'shop',
    });
  });

  it('runs on the PostgreSQL server named by DATABASE_URL', () => {
    expect(chooseStorage({ DATABASE_URL: 'postgres://db/test', ES_SCHEMA: 'shop_2' }, defaults)).toEqual({
      kind: 'postgres',
      url: 'postgres://db/test',
      schema: 'shop_2',
    });
  });

  it('prefers MONGO_URL, and ES_STORE overrides both', () => {
    const env = { DATABASE_URL: 'postgres://db/test', MONGO_URL: 'mongodb://m/?replicaSet=rs0' };
    expect(chooseStorage(env, defaults)).toMatchObject({ kind: 'mongodb', database: 'shop' });
    expect(chooseStorage({ ...env, ES_STORE: 'postgres' }, defaults)).toMatchObject({ kind: 'postgres' });
    expect(chooseStorage({ ...env, ES_STORE: 'memory' }, defaults)).toEqual({ kind: 'memory' });
  });

  it('moves the PGlite folder with ES_DATA_DIR', () => {
    expect(chooseStorage({ ES_DATA_DIR: '/tmp/x' }, defaults)).toMatchObject({ dataDir: '/tmp/x' });
  });

  it('explains a store it does not know, or one without its URL', () => {
    expect(() => chooseStorage({ ES_STORE: 'oracle' }, defaults)).toThrow(/not a store/);
    expect(() => chooseStorage({ ES_STORE: 'postgres' }, defaults)).toThrow(/needs DATABASE_URL/);
  });
});
