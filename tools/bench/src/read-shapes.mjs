// Candidate shapes of a decoded event (issue 16: "decode lazily what a caller does not touch"),
// in process on 100,000 synthetic rows as `pg` returns them to the store (the server's text),
// over interleaved rounds; prints medians per 100,000 events.
//
//   node tools/bench/src/read-shapes.mjs [--metadata]
//
// Every shape parses `data` and `position` when built. `eager` (the store's shape) also parses
// metadata, tags and the timestamp; the lazy shapes decode those on first access, from own
// enumerable accessors (an object's own properties are what spread, structuredClone and jest's
// equality see), and cache the value. `class, prototype getters` is the cheapest lazy form, shown
// for reference only: spread and structuredClone lose its lazy fields and jest's toStrictEqual
// tells it from a plain object.
import pg from 'pg';
import { median } from './table.mjs';

const N = 100_000;
const withMetadata = process.argv.includes('--metadata');
const textArray = pg.types.getTypeParser(1009, 'text');
const parseTags = (text) => (text === '{}' ? [] : textArray(text));
const parseMetadata = (text) => (text === '{}' ? {} : JSON.parse(text));
// The events of one append share their timestamp text: the store's parser caches the last one.
let lastText = '';
let lastTime = 0;
const parseTimestamp = (text) => {
  if (text !== lastText) {
    lastText = text;
    lastTime = Date.parse(`${text.slice(0, 10)}T${text.slice(11, 23)}Z`);
  }
  return new Date(lastTime);
};

const rows = Array.from({ length: N }, (_, i) => [
  `0193a1b2-1111-7000-8000-${String(i).padStart(12, '0')}`,
  `w4-${i >> 10}`,
  i + 1,
  String(65_536 * 1_000_000 + i),
  'Deposited',
  1,
  `{"note": "deposit ${i}", "amount": ${i}, "currency": "EUR"}`,
  withMetadata ? `{"causationId": "m-${i}", "correlationId": "c-${i >> 4}"}` : '{}',
  `2026-12-02 14:23:${String(10 + ((i >> 10) % 50))}.123456+00`,
  withMetadata ? '{account:a1,owner:ada}' : '{}',
]);

const base = (r) => ({
  eventId: r[0],
  streamId: r[1],
  version: r[2],
  position: BigInt(r[3]),
  type: r[4],
  schemaVersion: r[5],
  data: JSON.parse(r[6]),
});

const HIDDEN = Symbol('undecoded');
const lazyField = (index, parse) => ({
  get() {
    const state = this[HIDDEN];
    if (!(state.decoded & (1 << index))) {
      state.values[index] = parse(state.values[index]);
      state.decoded |= 1 << index;
    }
    return state.values[index];
  },
  set(value) {
    const state = this[HIDDEN];
    state.values[index] = value;
    state.decoded |= 1 << index;
  },
  enumerable: true,
  configurable: true,
});
const SHARED_ACCESSORS = {
  metadata: lazyField(0, parseMetadata),
  timestamp: lazyField(1, parseTimestamp),
  tags: lazyField(2, parseTags),
};

class ProtoGetters {
  #undecoded;
  #decoded = 0;
  #values = [];
  constructor(r) {
    this.eventId = r[0];
    this.streamId = r[1];
    this.version = r[2];
    this.position = BigInt(r[3]);
    this.type = r[4];
    this.schemaVersion = r[5];
    this.data = JSON.parse(r[6]);
    this.#undecoded = [r[7], r[8], r[9]];
  }
  #get(index, parse) {
    if (!(this.#decoded & (1 << index))) {
      this.#values[index] = parse(this.#undecoded[index]);
      this.#decoded |= 1 << index;
    }
    return this.#values[index];
  }
  get metadata() {
    return this.#get(0, parseMetadata);
  }
  get timestamp() {
    return this.#get(1, parseTimestamp);
  }
  get tags() {
    return this.#get(2, parseTags);
  }
}

const shapes = {
  eager: (r) => ({
    eventId: r[0],
    streamId: r[1],
    version: r[2],
    position: BigInt(r[3]),
    type: r[4],
    schemaVersion: r[5],
    data: JSON.parse(r[6]),
    metadata: parseMetadata(r[7]),
    timestamp: parseTimestamp(r[8]),
    tags: parseTags(r[9]),
  }),
  'object literal, own get/set per event': (r) => {
    let metadata = r[7];
    let timestamp = r[8];
    let tags = r[9];
    let decoded = 0;
    return {
      eventId: r[0],
      streamId: r[1],
      version: r[2],
      position: BigInt(r[3]),
      type: r[4],
      schemaVersion: r[5],
      data: JSON.parse(r[6]),
      get metadata() {
        if (!(decoded & 1)) {
          metadata = parseMetadata(metadata);
          decoded |= 1;
        }
        return metadata;
      },
      set metadata(value) {
        metadata = value;
        decoded |= 1;
      },
      get timestamp() {
        if (!(decoded & 2)) {
          timestamp = parseTimestamp(timestamp);
          decoded |= 2;
        }
        return timestamp;
      },
      set timestamp(value) {
        timestamp = value;
        decoded |= 2;
      },
      get tags() {
        if (!(decoded & 4)) {
          tags = parseTags(tags);
          decoded |= 4;
        }
        return tags;
      },
      set tags(value) {
        tags = value;
        decoded |= 4;
      },
    };
  },
  'shared own accessors (defineProperties)': (r) => {
    const e = base(r);
    Object.defineProperty(e, HIDDEN, { value: { decoded: 0, values: [r[7], r[8], r[9]] } });
    return Object.defineProperties(e, SHARED_ACCESSORS);
  },
  'class, prototype getters (reference)': (r) => new ProtoGetters(r),
};

const touch = (e) =>
  Object.keys(e.metadata).length + e.timestamp.getTime() + e.tags.length + Number(e.position & 1n);
const results = Object.fromEntries(
  Object.keys(shapes).map((k) => [k, { build: [], first: [], again: [], spread: [] }]),
);
let sink = 0;
for (let round = 0; round < 11; round++) {
  const names = Object.keys(shapes);
  for (const name of names.map((_, i) => names[(i + round) % names.length])) {
    const shape = shapes[name];
    const timed = (metric, work) => {
      const started = performance.now();
      work();
      results[name][metric].push(performance.now() - started);
    };
    const events = new Array(N);
    timed('build', () => {
      for (let i = 0; i < N; i++) events[i] = shape(rows[i]);
      for (let i = 0; i < N; i++) sink += events[i].version;
    });
    timed('first', () => {
      for (let i = 0; i < N; i++) sink += touch(events[i]);
    });
    timed('again', () => {
      for (let i = 0; i < N; i++) sink += touch(events[i]);
    });
    timed('spread', () => {
      for (let i = 0; i < N; i++) sink += Object.keys({ ...events[i] }).length;
    });
  }
}
console.log(
  `shapes: 11 interleaved rounds, medians, ms per ${N.toLocaleString('en')} events; metadata and tags: ${withMetadata ? 'yes' : 'no'}`,
);
console.log(
  '| shape | build (read streamId, version) | + first read of the rest | a second read | spread | fields a spread sees |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, r] of Object.entries(results)) {
  const cells = ['build', 'first', 'again', 'spread'].map((m) => median(r[m]).toFixed(1));
  console.log(`| ${name} | ${cells.join(' | ')} | ${Object.keys({ ...shapes[name](rows[0]) }).length} |`);
}
if (sink === 0) console.log('');
