import {
  type Attributes,
  type Context,
  context,
  createNoopMeter,
  createTraceState,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Counter as MetricCounter,
  metrics,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { isAppendConditionFailedError, isConcurrencyConflictError, isEventSourcingError } from './errors.js';
import type { EventMetadata, NewEvent } from './events.js';

/** The instrumentation scope version: the version of @es/core (a test keeps them equal). */
export const TELEMETRY_VERSION = '0.1.0';

/** The metadata key holding the W3C `traceparent` of the span that appended the event (reserved). */
export const TRACEPARENT_METADATA_KEY = 'traceparent';
/** The metadata key holding the W3C `tracestate` that goes with {@link TRACEPARENT_METADATA_KEY} (reserved). */
export const TRACESTATE_METADATA_KEY = 'tracestate';

/**
 * Where telemetry goes. Both default to the global providers of `@opentelemetry/api` (what an
 * OpenTelemetry SDK registers); without an SDK the API's no-op implementations cost next to nothing.
 *
 * @example
 * const store = instrumentEventStore(new InMemoryEventStore(), { tracerProvider, meterProvider });
 */
export interface TelemetryOptions {
  /** Spans are started from this provider's tracer. Defaults to the global tracer provider. */
  readonly tracerProvider?: TracerProvider;
  /** Metrics are recorded with this provider's meter. Defaults to the global meter provider. */
  readonly meterProvider?: MeterProvider;
}

const SCOPE = '@es/core';
const NOOP_METER = createNoopMeter();

/**
 * Instruments made from a meter, rebuilt when the global meter provider changes (an SDK started
 * after the first append still gets metrics), and `undefined` while the meter is the API's no-op
 * one, so callers skip the clock reads and attribute objects that a no-op would throw away.
 * @internal
 */
export class LazyInstruments<T> {
  readonly #explicit: MeterProvider | undefined;
  readonly #scope: string;
  readonly #create: (meter: Meter) => T;
  #provider: MeterProvider | undefined;
  #instruments: T | undefined;

  constructor(scope: string, create: (meter: Meter) => T, provider?: MeterProvider) {
    this.#scope = scope;
    this.#create = create;
    this.#explicit = provider;
  }

  /** The instruments, or `undefined` when metrics go nowhere. */
  get(): T | undefined {
    const provider = this.#explicit ?? metrics.getMeterProvider();
    if (provider !== this.#provider) {
      this.#provider = provider;
      const meter = provider.getMeter(this.#scope, TELEMETRY_VERSION);
      this.#instruments = meter === NOOP_METER ? undefined : this.#create(meter);
    }
    return this.#instruments;
  }
}

/** @internal The tracer of a scope, from the given provider or the global one. */
export function tracerOf(scope: string, provider: TracerProvider | undefined): Tracer {
  return (provider ?? trace).getTracer(scope, TELEMETRY_VERSION);
}

interface AppendInstruments {
  readonly duration: Histogram;
  readonly size: Histogram;
  readonly appended: MetricCounter;
}

function createAppendInstruments(meter: Meter): AppendInstruments {
  return {
    duration: meter.createHistogram('es.append.duration', {
      description: 'How long an append took, from the call to its result or error.',
      unit: 's',
    }),
    size: meter.createHistogram('es.append.size', {
      description: 'Events per successful append.',
      unit: '{event}',
    }),
    appended: meter.createCounter('es.events.appended', {
      description: 'Events appended (successful appends only).',
      unit: '{event}',
    }),
  };
}

/** What an append ended with, as the `es.append.outcome` attribute. */
function outcomeOf(error: unknown): string {
  if (error === undefined) return 'ok';
  if (isConcurrencyConflictError(error)) return 'conflict';
  if (isAppendConditionFailedError(error)) return 'condition_failed';
  return 'error';
}

function errorCodeOf(error: unknown): string | undefined {
  return isEventSourcingError(error) ? error.code : undefined;
}

/** Ends a span with the error recorded (the span must be recording). */
function failSpan(span: Span, error: unknown): void {
  if (span.isRecording()) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    if (error instanceof Error) span.recordException(error);
    const code = errorCodeOf(error);
    if (code) span.setAttribute('es.error.code', code);
  }
}

/**
 * The span and metrics of one append, shared by {@link instrumentEventStore} and the repository:
 * span `es.append` (active while `run` runs, so the store writes its context into the events),
 * and `es.append.duration`, `es.append.size`, `es.events.appended`.
 * @internal
 */
export class StoreTelemetry {
  readonly #tracer: Tracer;
  readonly #instruments: LazyInstruments<AppendInstruments>;

  constructor(options: TelemetryOptions = {}) {
    this.#tracer = tracerOf(SCOPE, options.tracerProvider);
    this.#instruments = new LazyInstruments(SCOPE, createAppendInstruments, options.meterProvider);
  }

  /** Runs `run` (the append) inside the span; `attributes` is called only when the span records. */
  async traceAppend<R extends { readonly nextVersion: number; readonly lastPosition: bigint }>(
    streamId: string | undefined,
    eventCount: number,
    run: () => Promise<R>,
    attributes?: () => Attributes,
  ): Promise<R> {
    const span = this.#tracer.startSpan('es.append', { kind: SpanKind.PRODUCER });
    const recording = span.isRecording();
    if (recording) {
      if (streamId !== undefined) span.setAttribute('es.stream.id', streamId);
      span.setAttribute('es.events.count', eventCount);
      if (attributes) span.setAttributes(attributes());
    }
    const instruments = this.#instruments.get();
    const started = instruments ? performance.now() : 0;
    try {
      const result = await context.with(trace.setSpan(context.active(), span), run);
      if (recording) {
        span.setAttribute('es.stream.version', result.nextVersion);
        span.setAttribute('es.position', Number(result.lastPosition));
      }
      if (instruments) {
        const outcome = { 'es.append.outcome': 'ok' };
        instruments.duration.record((performance.now() - started) / 1000, outcome);
        instruments.size.record(eventCount);
        instruments.appended.add(eventCount);
      }
      return result;
    } catch (error) {
      failSpan(span, error);
      if (instruments) {
        instruments.duration.record((performance.now() - started) / 1000, {
          'es.append.outcome': outcomeOf(error),
        });
      }
      throw error;
    } finally {
      span.end();
    }
  }

  /** Runs a read inside a span named `name`; `describe` adds attributes from its result when recording. */
  async traceRead<R>(
    name: string,
    attributes: () => Attributes,
    run: () => Promise<R>,
    describe: (result: R) => Attributes,
  ): Promise<R> {
    const span = this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL });
    const recording = span.isRecording();
    if (recording) span.setAttributes(attributes());
    try {
      const result = await context.with(trace.setSpan(context.active(), span), run);
      if (recording) span.setAttributes(describe(result));
      return result;
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Runs a repository load inside an `es.stream.load` span; `run` fills in `report` (events read,
   * the snapshot used) for the span's attributes.
   */
  async traceLoad<R>(streamId: string, run: (report: LoadReport) => Promise<R>): Promise<R> {
    const span = this.#tracer.startSpan('es.stream.load', { kind: SpanKind.INTERNAL });
    const report: LoadReport = { eventsRead: 0, snapshotVersion: undefined };
    try {
      const result = await context.with(trace.setSpan(context.active(), span), () => run(report));
      if (span.isRecording()) {
        span.setAttributes({
          'es.stream.id': streamId,
          'es.events.read': report.eventsRead,
          'es.snapshot.used': report.snapshotVersion !== undefined,
          'es.found': result !== undefined,
        });
        if (report.snapshotVersion !== undefined)
          span.setAttribute('es.snapshot.version', report.snapshotVersion);
      }
      return result;
    } catch (error) {
      if (span.isRecording()) span.setAttribute('es.stream.id', streamId);
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** Starts a span for a read the caller ends itself (an iteration); see {@link endSpan}. */
  startSpan(name: string, attributes: () => Attributes, parent?: Context): Span {
    const span = this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL }, parent ?? context.active());
    if (span.isRecording()) span.setAttributes(attributes());
    return span;
  }
}

/** @internal What a repository load reports for its `es.stream.load` span. */
export interface LoadReport {
  /** Events applied by the load that returned (the last attempt, after a snapshot fell through). */
  eventsRead: number;
  /** The aggregate version of the snapshot the load started from, if it used one. */
  snapshotVersion: number | undefined;
}

/** @internal Ends a span, with the error when there is one. */
export function endSpan(span: Span, error?: { error: unknown }): void {
  if (error) failSpan(span, error.error);
  span.end();
}

/**
 * The W3C trace context of the active span as metadata entries, or `undefined` when no valid span
 * is active (always, when no OpenTelemetry SDK is registered). Cheap: one context lookup.
 * @internal
 */
export function activeTraceMetadata(): Readonly<Record<string, string>> | undefined {
  const spanContext = trace.getSpanContext(context.active());
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate
    ? { [TRACEPARENT_METADATA_KEY]: traceparent, [TRACESTATE_METADATA_KEY]: tracestate }
    : { [TRACEPARENT_METADATA_KEY]: traceparent };
}

/**
 * The metadata to store with an event: the caller's, plus the active trace context when there is
 * one and the caller set no `traceparent` of its own. The caller's object is never modified.
 * @internal
 */
export function withTraceMetadata(
  metadata: EventMetadata,
  trace: Readonly<Record<string, string>> | undefined,
): EventMetadata {
  if (trace === undefined || metadata[TRACEPARENT_METADATA_KEY] !== undefined) return metadata;
  return { ...metadata, ...trace };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span context an event's metadata carries (its `traceparent`, and `tracestate` when present),
 * marked remote; `undefined` when there is none or it is malformed. Consumers link their spans to it.
 *
 * @example
 * const appendedBy = spanContextFromMetadata(event.metadata);
 * const span = tracer.startSpan('handle', { links: appendedBy ? [{ context: appendedBy }] : [] });
 */
export function spanContextFromMetadata(metadata: EventMetadata | undefined): SpanContext | undefined {
  const traceparent = metadata?.[TRACEPARENT_METADATA_KEY];
  if (typeof traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  if (!trace.isSpanContextValid(spanContext)) return undefined;
  const tracestate = metadata?.[TRACESTATE_METADATA_KEY];
  if (typeof tracestate === 'string' && tracestate.length > 0) {
    return { ...spanContext, traceState: createTraceState(tracestate) };
  }
  return spanContext;
}

/** @internal The number of events in an append's argument, 0 when it is not an array. */
export function countEvents(events: readonly NewEvent[] | unknown): number {
  return Array.isArray(events) ? events.length : 0;
}
