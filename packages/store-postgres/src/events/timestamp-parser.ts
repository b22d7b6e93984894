import pg from 'pg';

/** OID of `timestamptz`. */
const TIMESTAMPTZ_OID = 1184;
/** OID of `jsonb`. */
export const JSONB_OID = 3802;
/** OID of `text[]`. */
export const TEXT_ARRAY_OID = 1009;

const asText = (text: string): string => text;

const defaultTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => unknown;

const DIGIT_0 = 48;

function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - DIGIT_0;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

// The last text parsed and its time: the events of one append share `created_at` (the
// transaction's start), so a long read meets the same text hundreds of times in a row.
let lastText = '';
let lastTime = 0;

/**
 * Parses a `timestamptz` as the server prints it with the ISO DateStyle
 * (`2026-11-26 14:05:21.123456+00`, `+05:30`, `-03:00:00`), several times faster than the
 * driver's general parser (which was the largest single cost of decoding a row), and returns a
 * new `Date` on every call. Anything else (another DateStyle, BC dates, years past 9999,
 * `infinity`) goes to the driver's parser.
 */
export function parseTimestamptz(text: string): unknown {
  if (text === lastText) return new Date(lastTime);
  const length = text.length;
  if (
    length >= 22 &&
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 32 && // space
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58
  ) {
    let i = 19;
    let millis = 0;
    if (text.charCodeAt(i) === 46) {
      // A fraction of 1 to 6 digits: keep milliseconds (the first three digits), as the driver's
      // parser does.
      i++;
      for (let scale = 100; i < length; i++, scale /= 10) {
        const digit = text.charCodeAt(i) - DIGIT_0;
        if (digit < 0 || digit > 9) break;
        if (scale >= 1) millis += digit * scale;
      }
    }
    const sign = text.charCodeAt(i);
    if ((sign === 43 || sign === 45) && (length === i + 3 || length === i + 6 || length === i + 9)) {
      let offsetSeconds = digits(text, i + 1, i + 3) * 3600;
      if (length >= i + 6 && text.charCodeAt(i + 3) === 58) offsetSeconds += digits(text, i + 4, i + 6) * 60;
      if (length === i + 9 && text.charCodeAt(i + 6) === 58) offsetSeconds += digits(text, i + 7, i + 9);
      const year = digits(text, 0, 4);
      const utc = Date.UTC(
        year,
        digits(text, 5, 7) - 1,
        digits(text, 8, 10),
        digits(text, 11, 13),
        digits(text, 14, 16),
        digits(text, 17, 19),
        millis,
      );
      const time = utc - (sign === 43 ? 1 : -1) * offsetSeconds * 1000;
      // Date.UTC maps years 0-99 to 1900-1999; leave those (and anything malformed) to the driver.
      if (Number.isFinite(time) && year >= 100) {
        lastText = text;
        lastTime = time;
        return new Date(time);
      }
    }
  }
  return defaultTimestamptz(text);
}

/**
 * Type parsers for the store's event reads (the array-mode queries): `jsonb`, `text[]` and
 * `timestamptz` come back as the server's text, decoded by `eventDecoder` (event-rows.ts), which
 * parses timestamps with {@link parseTimestamptz}; every other type goes to the driver's own
 * parsers (`pg.types`).
 */
export const EVENT_ROW_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (format === 'binary') return pg.types.getTypeParser(oid, 'binary');
    if (oid === JSONB_OID || oid === TEXT_ARRAY_OID || oid === TIMESTAMPTZ_OID) return asText;
    return pg.types.getTypeParser(oid, 'text');
  },
};
