import { describe, expect, it } from '@jest/globals';
import { statementName } from './pg-executor.js';

describe('prepared statement names', () => {
  it('keeps short names and shortens long ones without collisions', () => {
    expect(statementName('es-stream:"public"."events"')).toBe('es-stream:"public"."events"');
    const table = '"warehouse_app_mwxljhww_wuu2ts"."events_snapshots"';
    const save = statementName(`es-snapshot:${table}:save`);
    const load = statementName(`es-snapshot:${table}:load`);
    expect(Buffer.byteLength(save)).toBeLessThanOrEqual(63);
    expect(save).not.toBe(load);
    expect(statementName(`es-snapshot:${table}:save`)).toBe(save);
  });
});
