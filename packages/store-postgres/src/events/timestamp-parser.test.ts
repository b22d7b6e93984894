import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { parseTimestamptz } from './timestamp-parser.js';

const driver = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

describe('parseTimestamptz', () => {
  it.each([
    '2026-11-26 14:05:21.123456+00',
    '2026-11-26 14:05:21+00',
    '2026-11-26 14:05:21.1+00',
    '2026-11-26 14:05:21.12-03',
    '2026-01-01 00:00:00.999999+05:30',
    '1999-12-31 23:59:59.5-09:30',
    '1900-01-01 00:00:00+00:09:21',
    '2026-02-28 23:00:00.000001+14',
  ])('reads %s as the driver does', (text) => {
    const ours = parseTimestamptz(text) as Date;
    expect(ours).toBeInstanceOf(Date);
    expect(ours.getTime()).toBe((driver(text) as Date).getTime());
  });

  it.each([
    'infinity',
    '-infinity',
    '0044-03-15 12:00:00+00 BC',
    '0099-01-01 00:00:00+00',
    '12026-01-01 00:00:00+00',
  ])('leaves %s to the driver', (text) => {
    expect(parseTimestamptz(text)).toEqual(driver(text));
  });
});
