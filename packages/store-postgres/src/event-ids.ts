import { randomFillSync } from 'node:crypto';
import type { NewEvent, PreparedAppend } from '@es/core';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made close
 * in time sort close together, so the unique index on `event_id` grows at its right edge instead
 * of splitting pages all over (and writing full-page images to the WAL after each checkpoint).
 */
export function uuidV7(now = Date.now()): string {
  const bytes = randomFillSync(new Uint8Array(16));
  let time = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => HEX[byte]).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Gives the events the caller left without an id a time-ordered one (`prepareAppend` fills in
 * random UUIDs). Ids the caller chose are kept, and so is `mayBeRetry`.
 */
export function withTimeOrderedIds(append: PreparedAppend, events: readonly NewEvent[]): PreparedAppend {
  const now = Date.now();
  return {
    ...append,
    events: append.events.map((event, index) =>
      events[index]?.eventId === undefined ? { ...event, eventId: uuidV7(now) } : event,
    ),
  };
}
