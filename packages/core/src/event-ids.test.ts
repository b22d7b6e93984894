import { describe, expect, it } from '@jest/globals';
import { uuidV7 } from './event-ids.js';

describe('uuidV7', () => {
  it('is a version 7, variant 1 UUID', () => {
    expect(uuidV7()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('starts with the time in milliseconds, so later ids sort after earlier ones', () => {
    const early = uuidV7(Date.UTC(2026, 0, 1));
    const late = uuidV7(Date.UTC(2026, 0, 1) + 1);
    expect(early.replaceAll('-', '').slice(0, 12)).toBe(Date.UTC(2026, 0, 1).toString(16).padStart(12, '0'));
    expect(early < late).toBe(true);
  });

  it('differs between two ids of the same millisecond', () => {
    const now = Date.now();
    expect(uuidV7(now)).not.toBe(uuidV7(now));
  });

  it('stays well-formed and unique across many ids (several refills of the random pool)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = uuidV7();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(5_000);
  });
});
