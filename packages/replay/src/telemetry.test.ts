import { readFileSync } from 'node:fs';
import {
  type DomainEvent,
  EventSourcedAggregate,
  EventSourcedRepository,
  ExpectedVersion,
  InMemoryCheckpointStore,
  InMemoryEventStore,
  InMemoryParkedEventStore,
  InMemoryPartitionLeaseStore,
  InMemoryProjectionLock,
} from '@es/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ConsumerGroup, Projection } from './index.js';
import { REPLAY_TELEMETRY_VERSION } from './telemetry.js';

jest.setTimeout(30_000);

// The consumers' spans and metrics through the SDK's in-memory exporter and a pull reader,
// registered as the global providers (as an application's SDK would be).

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new TestReader();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });
const tracer = trace.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
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

async function points(name: string): Promise<DataPoint<number>[]> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<number>[];
    }
  }
  return [];
}
const sum = async (name: string, match: Record<string, unknown>) =>
  (await points(name))
    .filter((p) => Object.entries(match).every(([key, value]) => p.attributes[key] === value))
    .reduce((total, p) => total + p.value, 0);

const named = (name: string): ReadableSpan[] => spans.getFinishedSpans().filter((s) => s.name === name);
const until = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
};

type CounterEvent = DomainEvent<'Incremented', { by: number }>;
class Counter extends EventSourcedAggregate<CounterEvent> {
  value = 0;
  increment(by: number) {
    this.raiseEvent({ type: 'Incremented', data: { by } });
  }
  protected apply(event: CounterEvent) {
    this.value += event.data.by;
  }
}

describe('telemetry: Projection', () => {
  it('runs each batch in an es.projection.batch span linked to the appending spans; counts, lag, retries, parked, lease', async () => {
    const eventStore = new InMemoryEventStore();
    const repository = new EventSourcedRepository({ eventStore, factory: (id) => new Counter(id) });
    // Two commands, each in its own trace.
    for (const id of ['c-1', 'c-2']) {
      await tracer.startActiveSpan(`command ${id}`, { root: true }, async (span) => {
        const counter = new Counter(id);
        counter.increment(1);
        counter.increment(2);
        await repository.save(counter);
        span.end();
      });
    }
    const appends = named('es.append');
    expect(appends).toHaveLength(2);

    let failures = 0;
    const projection = new Projection<CounterEvent>({
      name: 'totals',
      eventStore,
      checkpoints: new InMemoryCheckpointStore(),
      parked: new InMemoryParkedEventStore(),
      lock: new InMemoryProjectionLock(),
      batchSize: 10,
      pollIntervalMs: 20,
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 1, jitter: false } },
      onError: () => {},
      handler: async (event) => {
        // The handler runs inside the batch span: its own spans are children of it.
        tracer.startSpan('handler').end();
        if (event.streamId === 'c-2' && event.version === 2) {
          failures++;
          throw new Error('poison');
        }
      },
    });
    projection.start();
    await projection.waitForPosition(4n);
    await projection.stop();

    const [batch] = named('es.projection.batch');
    expect(batch?.attributes).toMatchObject({
      'es.subscription': 'totals',
      'es.batch.events': 4,
      'es.batch.first_position': 1,
      'es.batch.last_position': 4,
      'es.batch.committed': true,
    });
    expect(batch?.links.map((link) => link.context.spanId).sort()).toEqual(
      appends.map((append) => append.spanContext().spanId).sort(),
    );
    expect(batch?.links.map((link) => link.context.traceId).sort()).toEqual(
      appends.map((append) => append.spanContext().traceId).sort(),
    );
    expect(named('handler').every((h) => h.parentSpanContext?.spanId === batch?.spanContext().spanId)).toBe(
      true,
    );

    const labels = { 'es.subscription': 'totals' };
    expect(failures).toBe(2);
    expect(await sum('es.consumer.retries', labels)).toBe(1);
    expect(await sum('es.consumer.parked', labels)).toBe(1);
    expect(await sum('es.consumer.events.handled', labels)).toBe(4);
    expect(await sum('es.consumer.lease.changes', { ...labels, 'es.lease.change': 'acquired' })).toBe(1);
    expect(await sum('es.consumer.lease.changes', { ...labels, 'es.lease.change': 'released' })).toBe(1);
    // The last read found nothing new: caught up.
    expect(await sum('es.consumer.lag', labels)).toBe(0);
    expect(await sum('es.consumer.lag.events', labels)).toBe(0);
  });
});

describe('telemetry: ConsumerGroup', () => {
  it('a batch span per partition share, linked to the appends; lag per partition; leases acquired and released', async () => {
    const eventStore = new InMemoryEventStore();
    await tracer.startActiveSpan('command', async (span) => {
      for (const id of ['a', 'b', 'c', 'd']) {
        await eventStore.appendEvents(id, ExpectedVersion.NoStream, [
          { type: 'Incremented', data: { by: 1 } },
        ]);
      }
      span.end();
    });
    const command = named('command')[0]!;
    const group = new ConsumerGroup({
      name: 'g',
      partitions: 2,
      eventStore,
      leases: new InMemoryPartitionLeaseStore(),
      checkpoints: new InMemoryCheckpointStore(),
      parked: new InMemoryParkedEventStore(),
      workerId: 'w-1',
      pollIntervalMs: 20,
      heartbeatMs: 20,
      onError: () => {},
      handler: async () => {},
    });
    group.start();
    await group.waitForPosition(4n, { pollMs: 10 });
    await until(async () => (await sum('es.consumer.events.handled', { 'es.consumer.group': 'g' })) === 4);
    await group.stop();

    const batches = named('es.projection.batch');
    expect(batches.map((b) => b.attributes['es.partition']).sort()).toEqual([0, 1]);
    expect(batches.reduce((n, b) => n + (b.attributes['es.batch.events'] as number), 0)).toBe(4);
    for (const batch of batches) {
      expect(batch.attributes['es.consumer.group']).toBe('g');
      expect(batch.attributes['es.subscription']).toBe(`g#${batch.attributes['es.partition']}`);
      // All four events were appended under one command span: one link, to it.
      expect(batch.links).toHaveLength(1);
      expect(batch.links[0]?.context.traceId).toBe(command.spanContext().traceId);
      expect(batch.links[0]?.context.spanId).toBe(command.spanContext().spanId);
    }
    for (const partition of [0, 1]) {
      const labels = { 'es.consumer.group': 'g', 'es.partition': partition };
      expect(await sum('es.consumer.lease.changes', { ...labels, 'es.lease.change': 'acquired' })).toBe(1);
      expect(await sum('es.consumer.lease.changes', { ...labels, 'es.lease.change': 'released' })).toBe(1);
      expect(await sum('es.consumer.lag', labels)).toBe(0);
    }
  });

  it('reports the package version as the instrumentation scope version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', `file://${__filename}`), 'utf8'));
    expect(REPLAY_TELEMETRY_VERSION).toBe(pkg.version);
  });
});
