import { randomFillSync } from 'node:crypto';

// Random bytes are drawn from the OS in blocks: one `randomFillSync` call per id (a system call
// for 16 bytes) cost about 7 µs an id, now about 0.4 µs: in the benchmark it was the largest
// client-side cost of an append (1.8 s of CPU for 100,000 events).
const POOL_BYTES = 10 * 1024;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

// The id is written as ASCII into one buffer and read out as one flat string: a string glued from
// many pieces is a rope, which JSON.stringify has to flatten again for every event it serialises.
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const text = Buffer.alloc(36);
const DASHES = [8, 13, 18, 23];
for (const at of DASHES) text[at] = 0x2d;
// Where each of the 16 bytes of the UUID is written, skipping the dashes.
const BYTE_OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

let lastMillis = -1;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made close
 * in time sort close together, so an index on them grows at its right edge instead of splitting
 * pages all over (and writing full-page images to the WAL after each checkpoint). Used for every
 * event id the library makes (aggregates, and `prepareAppend` for events without one).
 *
 * @example
 * uuidV7(); // '019ac0f3-5d2e-7c41-9a6b-3f0e2d1c4b5a': the first 12 hex digits are the time
 */
export function uuidV7(now = Date.now()): string {
  if (now !== lastMillis) {
    let millis = now;
    for (let byte = 5; byte >= 0; byte--) {
      writeByte(byte, millis % 256);
      millis = Math.floor(millis / 256);
    }
    lastMillis = now;
  }
  if (poolOffset + 10 > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const o = poolOffset;
  poolOffset += 10;
  writeByte(6, 0x70 | (pool[o]! & 0x0f)); // version 7
  writeByte(7, pool[o + 1]!);
  writeByte(8, 0x80 | (pool[o + 2]! & 0x3f)); // variant 10
  for (let byte = 9; byte < 16; byte++) writeByte(byte, pool[o + byte - 6]!);
  return text.toString('latin1', 0, 36);
}

function writeByte(index: number, value: number): void {
  const at = BYTE_OFFSETS[index]!;
  text[at] = HEX_DIGITS[value >> 4]!;
  text[at + 1] = HEX_DIGITS[value & 0x0f]!;
}
