import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { EventSourcedAggregate } from './aggregate.js';
import { isConcurrencyConflictError } from './errors.js';
import type { DomainEvent, EventMetadata } from './events.js';
import { ExpectedVersion } from './expected-version.js';
import { InMemoryEventStore } from './in-memory-event-store.js';
import { EventSourcedRepository } from './repository.js';
import type { Snapshot, SnapshotStore } from './snapshot.js';
import { spanContextFromMetadata, TELEMETRY_VERSION } from './telemetry.js';
import { instrumentEventStore } from './telemetry-store.js';

// Spans and metrics asserted through the SDK's in-memory exporter and a pull reader, registered as
// the global providers (as an application's SDK would be).

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new TestReader();
const contextManager = new AsyncLocalStorageContextManager();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });
const tracer = trace.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
});
afterAll(async () => {
  trace.disable();
  metrics.disable();
  context.disable();
  await meterProvider.shutdown();
});
beforeEach(() => spans.reset());

/** Every data point of a metric, cumulative since the start of the file. */
async function points(name: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<unknown>[];
    }
  }
  return [];
}
const histogramCount = async (name: string, outcome?: string) =>
  (await points(name))
    .filter((p) => outcome === undefined || p.attributes['es.append.outcome'] === outcome)
    .reduce((sum, p) => sum + (p.value as Histogram).count, 0);
const counterSum = async (name: string) =>
  (await points(name)).reduce((sum, p) => sum + (p.value as number), 0);

const named = (name: string): ReadableSpan[] => spans.getFinishedSpans().filter((s) => s.name === name);

type TallyEvent = DomainEvent<'Added', { amount: number }>;
class Tally extends EventSourcedAggregate<TallyEvent> {
  total = 0;
  add(amount: number) {
    this.raiseEvent({ type: 'Added', data: { amount } });
  }
  protected apply(event: TallyEvent) {
    this.total += event.data.amount;
  }
  createSnapshot(): number {
    return this.total;
  }
  restoreSnapshot(total: number) {
    this.total = total;
  }
}

class MapSnapshotStore implements SnapshotStore {
  readonly snapshots = new Map<string, Snapshot>();
  async save(snapshot: Snapshot) {
    this.snapshots.set(snapshot.streamId, { ...snapshot });
  }
  async load(streamId: string) {
    return this.snapshots.get(streamId);
  }
  async delete(streamId: string) {
    this.snapshots.delete(streamId);
  }
}

describe('telemetry: appends', () => {
  it('saves in an es.append span under the caller, writes its trace context into each event, records the metrics', async () => {
    const store = new InMemoryEventStore();
    const repository = new EventSourcedRepository({ eventStore: store, factory: (id) => new Tally(id) });
    const before = {
      appends: await histogramCount('es.append.duration', 'ok'),
      events: await counterSum('es.events.appended'),
    };
    const tally = new Tally('t-1');
    tally.add(1);
    tally.add(2);
    const metadata = { correlationId: 'c-1' };
    await tracer.startActiveSpan('command', async (command) => {
      await repository.save(tally, { metadata });
      command.end();
    });

    const [append] = named('es.append');
    const [command] = named('command');
    expect(append?.parentSpanContext?.spanId).toBe(command?.spanContext().spanId);
    expect(append?.attributes).toMatchObject({
      'es.stream.id': 't-1',
      'es.events.count': 2,
      'es.expected_version': '0',
      'es.stream.version': 2,
    });
    const stored = await store.getEvents('t-1');
    const { traceId, spanId } = append!.spanContext();
    for (const event of stored) {
      expect(event.metadata).toEqual({ correlationId: 'c-1', traceparent: `00-${traceId}-${spanId}-01` });
    }
    expect(metadata).toEqual({ correlationId: 'c-1' });
    expect(spanContextFromMetadata(stored[0]!.metadata)).toMatchObject({ traceId, spanId, isRemote: true });
    expect(await histogramCount('es.append.duration', 'ok')).toBe(before.appends + 1);
    expect(await counterSum('es.events.appended')).toBe(before.events + 2);
    const sizes = (await points('es.append.size')).map((p) => p.value as Histogram);
    expect(sizes.some((h) => h.max === 2)).toBe(true);
  });

  it('keeps a traceparent the caller set, exactly, and adds nothing when no span is active', async () => {
    const store = new InMemoryEventStore();
    const own = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'x=1' };
    await tracer.startActiveSpan('command', async (span) => {
      await store.appendEvents('s-1', ExpectedVersion.NoStream, [{ type: 'A', data: {}, metadata: own }]);
      span.end();
    });
    await store.appendEvents('s-1', 1, [{ type: 'A', data: {}, metadata: { correlationId: 'c' } }]);
    const [first, second] = await store.getEvents('s-1');
    expect(first?.metadata).toEqual(own);
    expect(second?.metadata).toEqual({ correlationId: 'c' });
  });

  it('carries tracestate along with traceparent', async () => {
    const store = new InMemoryEventStore();
    const parent = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      traceState: (await import('@opentelemetry/api')).createTraceState('vendor=abc'),
    });
    await context.with(trace.setSpan(context.active(), parent), () =>
      store.appendEvents('s-2', ExpectedVersion.NoStream, [{ type: 'A', data: {} }]),
    );
    const [event] = await store.getEvents('s-2');
    expect(event?.metadata).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=abc',
    });
    expect(spanContextFromMetadata(event?.metadata)?.traceState?.get('vendor')).toBe('abc');
  });

  it('instrumentEventStore: a conflict fails the span and counts as outcome "conflict"; reads have spans', async () => {
    const store = instrumentEventStore(new InMemoryEventStore());
    await store.appendEvents('s-3', ExpectedVersion.NoStream, [
      { type: 'A', data: {} },
      { type: 'A', data: {} },
    ]);
    const conflicts = await histogramCount('es.append.duration', 'conflict');
    const error = await store.appendEvents('s-3', 0, [{ type: 'A', data: {} }]).catch((e: unknown) => e);
    expect(isConcurrencyConflictError(error)).toBe(true);
    expect(await histogramCount('es.append.duration', 'conflict')).toBe(conflicts + 1);
    const failed = named('es.append')[1]!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['es.error.code']).toBe('ES_CONCURRENCY_CONFLICT');

    expect(await store.getEvents('s-3', 1)).toHaveLength(1);
    expect(named('es.stream.read')[0]?.attributes).toMatchObject({
      'es.stream.id': 's-3',
      'es.from_version': 1,
      'es.events.read': 1,
    });
    let read = 0;
    for await (const _ of store.getAllEvents(0n, { batchSize: 1 })) read++;
    expect(read).toBe(2);
    expect(named('es.log.read')[0]?.attributes).toMatchObject({ 'es.from_position': 0, 'es.events.read': 2 });
  });

  it('a repository over an instrumented store traces each save once', async () => {
    const store = instrumentEventStore(new InMemoryEventStore());
    const repository = new EventSourcedRepository({ eventStore: store, factory: (id) => new Tally(id) });
    const tally = new Tally('t-2');
    tally.add(5);
    await repository.save(tally);
    expect(named('es.append')).toHaveLength(1);
  });

  it('telemetry: false turns the repository spans off', async () => {
    const repository = new EventSourcedRepository({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Tally(id),
      telemetry: false,
    });
    const tally = new Tally('t-3');
    tally.add(1);
    await repository.save(tally);
    await repository.find('t-3');
    expect(spans.getFinishedSpans()).toEqual([]);
  });
});

describe('telemetry: loads', () => {
  it('es.stream.load tells the events read and the snapshot used', async () => {
    const snapshots = new MapSnapshotStore();
    const repository = new EventSourcedRepository({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Tally(id),
      snapshots: { store: snapshots, strategy: { shouldSnapshot: (d) => d.eventsSinceSnapshot >= 3 } },
    });
    const tally = new Tally('t-4');
    for (let i = 1; i <= 4; i++) tally.add(i);
    await repository.save(tally); // 4 events, snapshot at 4
    const loaded = await repository.getById('t-4');
    loaded.add(10);
    await repository.save(loaded);
    spans.reset();
    expect((await repository.getById('t-4')).total).toBe(20);
    expect(named('es.stream.load')[0]?.attributes).toEqual({
      'es.stream.id': 't-4',
      'es.events.read': 1,
      'es.snapshot.used': true,
      'es.snapshot.version': 4,
      'es.found': true,
    });

    const plain = new EventSourcedRepository({
      eventStore: new InMemoryEventStore(),
      factory: (id) => new Tally(id),
    });
    expect(await plain.find('missing')).toBeUndefined();
    expect(named('es.stream.load')[1]?.attributes).toEqual({
      'es.stream.id': 'missing',
      'es.events.read': 0,
      'es.snapshot.used': false,
      'es.found': false,
    });
  });
});

describe('telemetry: metadata', () => {
  it('spanContextFromMetadata refuses malformed or invalid trace contexts', () => {
    expect(spanContextFromMetadata({})).toBeUndefined();
    expect(spanContextFromMetadata({ traceparent: 42 } as unknown as EventMetadata)).toBeUndefined();
    expect(spanContextFromMetadata({ traceparent: '00-abc-def-01' })).toBeUndefined();
    expect(
      spanContextFromMetadata({ traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` }),
    ).toBeUndefined();
  });

  it('reports the package version as the instrumentation scope version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', `file://${__filename}`), 'utf8'));
    expect(TELEMETRY_VERSION).toBe(pkg.version);
  });
});
