import { type DomainEvent, type StoredEvent, spanContextFromMetadata } from '@es/core';
import {
  type Attributes,
  type Counter,
  context,
  createNoopMeter,
  type Gauge,
  type Link,
  type Meter,
  type MeterProvider,
  metrics,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/** The instrumentation scope of @es/replay (name and version). */
const SCOPE = '@es/replay';
/** Kept equal to the package version by telemetry.test.ts. */
export const REPLAY_TELEMETRY_VERSION = '0.1.0';
/** The most links one batch span carries (the SDK's default limit is 128 too). */
const MAX_LINKS = 128;
const NOOP_METER = createNoopMeter();

interface ConsumerInstruments {
  readonly lagSeconds: Gauge;
  readonly lagEvents: Gauge;
  readonly handled: Counter;
  readonly parked: Counter;
  readonly retries: Counter;
  readonly leaseChanges: Counter;
}

function createInstruments(meter: Meter): ConsumerInstruments {
  return {
    lagSeconds: meter.createGauge('es.consumer.lag', {
      description:
        'Age of the oldest event a read returned and the consumer has yet to handle (now - its commit timestamp); 0 after a read that found nothing new.',
      unit: 's',
    }),
    lagEvents: meter.createGauge('es.consumer.lag.events', {
      description:
        'Events a read returned that the consumer has yet to handle; 0 after a read that found nothing new. A lower bound: it stops at the batch size when the consumer is further behind.',
      unit: '{event}',
    }),
    handled: meter.createCounter('es.consumer.events.handled', {
      description: 'Events handled in committed batches (parked ones included).',
      unit: '{event}',
    }),
    parked: meter.createCounter('es.consumer.parked', {
      description: 'Events parked after their handler kept failing (counted once their batch committed).',
      unit: '{event}',
    }),
    retries: meter.createCounter('es.consumer.retries', {
      description: 'Failed handler attempts that were retried.',
      unit: '{attempt}',
    }),
    leaseChanges: meter.createCounter('es.consumer.lease.changes', {
      description: 'Leases acquired, released, or lost (es.lease.change), per subscription or partition.',
      unit: '{change}',
    }),
  };
}

/** What a lease did, as the `es.lease.change` attribute. */
export type LeaseChange = 'acquired' | 'released' | 'lost';

/**
 * The spans and metrics of a projection or a consumer group, through the global OpenTelemetry
 * providers (no-ops without an SDK: then no clock is read and no attribute object is built).
 * @internal
 */
export class ConsumerTelemetry {
  readonly #tracer: Tracer;
  #provider: MeterProvider | undefined;
  #instruments: ConsumerInstruments | undefined;

  constructor() {
    this.#tracer = trace.getTracer(SCOPE, REPLAY_TELEMETRY_VERSION);
  }

  // Rebuilt when the global meter provider changes (an SDK started after the consumer still counts).
  #metrics(): ConsumerInstruments | undefined {
    const provider = metrics.getMeterProvider();
    if (provider !== this.#provider) {
      this.#provider = provider;
      const meter = provider.getMeter(SCOPE, REPLAY_TELEMETRY_VERSION);
      this.#instruments = meter === NOOP_METER ? undefined : createInstruments(meter);
    }
    return this.#instruments;
  }

  /**
   * Runs a batch's commit inside an `es.projection.batch` span (active, so the handler's own spans
   * are its children), linked to the spans that appended its events (their metadata's `traceparent`).
   * `run` resolves to whether the batch was committed.
   */
  async traceBatch(
    attributes: () => Attributes,
    events: readonly StoredEvent<DomainEvent>[],
    run: () => Promise<boolean>,
  ): Promise<boolean> {
    const span = this.#tracer.startSpan('es.projection.batch', { kind: SpanKind.CONSUMER });
    if (span.isRecording()) {
      span.setAttributes(attributes());
      span.setAttributes({
        'es.batch.events': events.length,
        'es.batch.first_position': Number(events[0]?.position ?? 0n),
        'es.batch.last_position': Number(events[events.length - 1]?.position ?? 0n),
      });
      span.addLinks(linksOf(events));
    }
    try {
      const committed = await context.with(trace.setSpan(context.active(), span), run);
      if (span.isRecording()) span.setAttribute('es.batch.committed', committed);
      return committed;
    } catch (error) {
      if (span.isRecording()) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        if (error instanceof Error) span.recordException(error);
      }
      throw error;
    } finally {
      span.end();
    }
  }

  /** Records the lag after a read: `pending` are the events still to handle (none: caught up). */
  lag(attributes: () => Attributes, pending: readonly StoredEvent<DomainEvent>[]): void {
    const instruments = this.#metrics();
    if (!instruments) return;
    const labels = attributes();
    const oldest = pending[0];
    instruments.lagSeconds.record(
      oldest ? Math.max(0, (Date.now() - oldest.timestamp.getTime()) / 1000) : 0,
      labels,
    );
    instruments.lagEvents.record(pending.length, labels);
  }

  /** Counts a committed batch: events handled and events parked. */
  committed(attributes: () => Attributes, handled: number, parked: number): void {
    const instruments = this.#metrics();
    if (!instruments) return;
    const labels = attributes();
    if (handled > 0) instruments.handled.add(handled, labels);
    if (parked > 0) instruments.parked.add(parked, labels);
  }

  /** Counts a failed handler attempt that will be retried. */
  retry(attributes: () => Attributes): void {
    this.#metrics()?.retries.add(1, attributes());
  }

  /** Counts a lease acquired, released or lost. */
  lease(attributes: () => Attributes, change: LeaseChange): void {
    const instruments = this.#metrics();
    if (instruments) instruments.leaseChanges.add(1, { ...attributes(), 'es.lease.change': change });
  }
}

/** One link per distinct appending span among the events, at most {@link MAX_LINKS}. */
function linksOf(events: readonly StoredEvent<DomainEvent>[]): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const event of events) {
    const appendedBy = spanContextFromMetadata(event.metadata);
    if (!appendedBy || seen.has(appendedBy.spanId)) continue;
    seen.add(appendedBy.spanId);
    links.push({ context: appendedBy, attributes: { 'es.event.position': Number(event.position) } });
    if (links.length >= MAX_LINKS) break;
  }
  return links;
}
