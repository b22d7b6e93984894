import { randomUUID } from 'node:crypto';
import type { EventStore, Position, Snapshot, SnapshotStore } from '@es/core';
import type { Storage } from '@es-samples/storage';
import { availableOf, type ProductCommand } from './domain/product.js';
import { isWarehouseError } from './domain/product-errors.js';
import {
  firstReleaseProductEvents,
  PRODUCT_STREAM_PREFIX,
  type ProductEvent,
} from './domain/product-events.js';
import { formatEvent, formatSnapshot, formatStock } from './format.js';
import { createProductRepository, handle, type ProductRepository, registerProduct } from './products.js';
import { type StockProjection, startStockProjection } from './stock-projection.js';

/** What a demo run found and did; the end-to-end tests check it. */
export interface DemoResult {
  /** True when the products were already there from an earlier run. */
  readonly continuedEarlierRun: boolean;
  /** The v1 receipt as stored, and as today's code reads it. */
  readonly storedV1: { readonly schemaVersion: number; readonly data: unknown };
  readonly upcast: { readonly schemaVersion: number; readonly data: unknown };
  /** The stock read model's rows next to the aggregates' own state, after the run. */
  readonly stock: readonly { sku: string; viewOnHand: number; aggregateOnHand: number; available: number }[];
  readonly snapshotsTaken: number;
  /** The stock projection's checkpoint at the start: set when it resumed from an earlier run. */
  readonly resumedFrom: Position | undefined;
}

export interface DemoOptions {
  readonly storage: Storage;
  /** Where the story is printed. Defaults to `console.log`. */
  readonly print?: (line: string) => void;
}

const LAMP = 'LAMP-01';
const DESK = 'DESK-02';

/**
 * The scripted story: events written by the first release (schema v1) load in today's shape, stock
 * is received, reserved, shipped and adjusted, a reservation the stock cannot cover is refused,
 * snapshots are taken, and a live projection keeps the stock read model up to date.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const print = options.print ?? console.log;
  const { storage } = options;
  let snapshotsTaken = 0;
  const products = createProductRepository({
    eventStore: storage.eventStore,
    snapshots: reportingSnapshots(storage.snapshots, (snapshot) => {
      snapshotsTaken++;
      print(`     [snapshot] ${formatSnapshot(snapshot)}`);
    }),
  });

  print('Event sourcing demo: a warehouse');
  print(`Storage: ${storage.description}`);

  print('\n1. Events written by the first release, when StockReceived was { qty }');
  const continuedEarlierRun = await products.exists(LAMP);
  if (continuedEarlierRun) {
    print(`   ${LAMP} already holds the first release's events (and earlier runs' history)`);
  } else {
    await writeFirstRelease(storage.eventStoreWith(firstReleaseProductEvents));
    print(`   the first release registered ${LAMP} and received 40 lamps as StockReceived v1 { qty: 40 }`);
  }

  print('\n2. The stock projection starts: it catches up with the log, then follows it live');
  const stock = await startStockProjection(storage);
  const { projection } = stock;
  const onHand = async (sku: string) => (await stock.rows()).find((row) => row.sku === sku)?.onHand;
  try {
    print(`   the read model lives in ${stock.description}`);
    print(
      stock.resumedFrom === undefined
        ? '   no checkpoint yet: the projection reads the log from the beginning'
        : `   it resumes after its checkpoint, position ${stock.resumedFrom}: only newer events are read`,
    );
    await projection.waitForIdle();
    print(`   caught up at position ${projection.position}: ${LAMP} has ${await onHand(LAMP)} on hand`);
    print("   (position = the event's place in the global log: large, increasing, not dense)");

    print("\n3. Today's code reads the old event in the new shape (upcast on read, never rewritten)");
    const [stored, upcast] = await firstReceipt(storage);
    print(`   stored:  StockReceived schema ${stored.schemaVersion}  ${JSON.stringify(stored.data)}`);
    print(`   read as: StockReceived schema ${upcast.schemaVersion}  ${JSON.stringify(upcast.data)}`);

    print('\n4. Receiving, reserving, shipping and adjusting stock');
    await step(products, print, LAMP, { type: 'Receive', quantity: 10, supplier: 'Lumen & Co' });
    const appendedAt = Date.now();
    await caughtUp(projection, await lastPosition(storage, [LAMP]), print);
    print(
      `     the live projection already shows it: ${LAMP} has ${await onHand(LAMP)} on hand in the ` +
        `read model, ${Date.now() - appendedAt} ms after the command returned`,
    );
    if (!(await products.exists(DESK))) {
      await registerProduct(products, DESK, 'Oak desk');
      print(`   ${DESK}: registered "Oak desk"`);
    }
    await step(products, print, DESK, { type: 'Receive', quantity: 12, supplier: 'Nordic Woods' });
    const run = randomUUID().slice(0, 4);
    await step(products, print, LAMP, { type: 'Reserve', orderId: `order-${run}-1`, quantity: 3 });
    await step(products, print, DESK, { type: 'Reserve', orderId: `order-${run}-2`, quantity: 2 });
    await step(products, print, LAMP, { type: 'Reserve', orderId: `order-${run}-3`, quantity: 1000 });
    await step(products, print, LAMP, { type: 'Ship', orderId: `order-${run}-1` });
    await step(products, print, DESK, { type: 'Adjust', delta: -1, reason: 'damaged in the count' });
    await step(products, print, DESK, { type: 'Adjust', delta: -1000, reason: 'typo in the count' });

    print('\n5. The stock read model, kept up to date by the live projection');
    await caughtUp(projection, await lastPosition(storage, [LAMP, DESK]), print);
    const rows = await stock.rows();
    for (const line of formatStock(rows)) print(`   ${line}`);
    const compared = [];
    for (const row of rows) {
      const product = await products.getById(row.sku);
      compared.push({
        sku: row.sku,
        viewOnHand: row.onHand,
        aggregateOnHand: product.state.onHand,
        available: availableOf(product.state),
      });
    }
    const agrees = compared.every((row) => row.viewOnHand === row.aggregateOnHand);
    print(`   read model and aggregates agree: ${agrees ? 'yes' : 'NO'}`);

    print(`\n6. The history of ${LAMP}, as today's code reads it`);
    const history = await storage.eventStore.getEvents(PRODUCT_STREAM_PREFIX + LAMP);
    for (const event of history.slice(0, 2)) print(`   ${formatEvent(event)}`);
    if (history.length > 6) print(`   ... ${history.length - 6} more ...`);
    for (const event of history.slice(Math.max(2, history.length - 4))) print(`   ${formatEvent(event)}`);

    print(
      continuedEarlierRun
        ? '\nThis run continued the history of an earlier one.'
        : storage.kind === 'memory'
          ? '\nDone. The in-memory store forgets everything when the process exits.'
          : '\nDone. Run the demo again: the history continues.',
    );
    return {
      continuedEarlierRun,
      storedV1: stored,
      upcast,
      stock: compared,
      snapshotsTaken,
      resumedFrom: stock.resumedFrom,
    };
  } finally {
    await stock.stop();
  }
}

// The position of the last event of these products.
async function lastPosition(storage: Storage, skus: readonly string[]): Promise<Position> {
  let last = 0n;
  for (const sku of skus) {
    const version = await storage.eventStore.getStreamVersion(PRODUCT_STREAM_PREFIX + sku);
    const [event] = await storage.eventStore.getEvents(PRODUCT_STREAM_PREFIX + sku, version - 1);
    if (event && event.position > last) last = event.position;
  }
  return last;
}

// Waits until the projection has handled the event at `position`. On PostgreSQL a follower sees an
// event only once every older transaction in the database has ended (so it never skips one): an
// open transaction elsewhere delays the read model, and the demo says so rather than wait forever.
async function caughtUp(
  projection: StockProjection['projection'],
  position: Position,
  print: (line: string) => void,
  timeoutMs = 30_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const late = await Promise.race([projection.waitForPosition(position).then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    print(
      `   (after ${timeoutMs} ms the read model has not reached position ${position}: a transaction in the ` +
        'database is still open, and followers never read past it. It catches up once that transaction ends.)',
    );
  }
}

// What the app's first release wrote: its registry only knew StockReceived v1.
async function writeFirstRelease(firstRelease: EventStore): Promise<void> {
  await firstRelease.appendEvents(PRODUCT_STREAM_PREFIX + LAMP, 0, [
    { type: 'ProductRegistered', data: { sku: LAMP, name: 'Desk lamp' } },
    { type: 'StockReceived', data: { qty: 40 } },
  ]);
}

// The product's first receipt read twice: raw (no registry) and through today's registry.
async function firstReceipt(storage: Storage) {
  const streamId = PRODUCT_STREAM_PREFIX + LAMP;
  const raw = await storage.eventStoreWith(undefined).getEvents(streamId, 1, { limit: 1 });
  const upcast = await storage.eventStore.getEvents<ProductEvent>(streamId, 1, { limit: 1 });
  const pick = (event: { schemaVersion: number; data: unknown } | undefined) => ({
    schemaVersion: event?.schemaVersion ?? 0,
    data: event?.data,
  });
  return [pick(raw[0]), pick(upcast[0])] as const;
}

async function step(
  products: ProductRepository,
  print: (line: string) => void,
  sku: string,
  command: ProductCommand,
): Promise<void> {
  const what = describe(command);
  try {
    const product = await handle(products, sku, command);
    const state = product.state;
    print(
      `   ${sku}: ${what} -> on hand ${state.onHand}, available ${availableOf(state)} (version ${product.version})`,
    );
  } catch (error) {
    if (!isWarehouseError(error)) throw error;
    print(`   ${sku}: ${what} -> refused with ${error.name} (${error.code})`);
    print(`     "${error.message}"`);
  }
}

function describe(command: ProductCommand): string {
  switch (command.type) {
    case 'Register':
      return `register "${command.name}"`;
    case 'Receive':
      return `receive ${command.quantity} from ${command.supplier}`;
    case 'Reserve':
      return `reserve ${command.quantity} for ${command.orderId}`;
    case 'Ship':
      return `ship ${command.orderId}`;
    case 'Adjust':
      return `adjust by ${command.delta} (${command.reason})`;
  }
}

// Reports every snapshot the repository saves, so the demo can show when one is taken.
function reportingSnapshots(store: SnapshotStore, report: (snapshot: Snapshot) => void): SnapshotStore {
  return {
    save: async (snapshot) => {
      await store.save(snapshot);
      report(snapshot);
    },
    load: (streamId) => store.load(streamId),
    delete: (streamId) => store.delete(streamId),
  };
}
