import { createNoopMeter } from '@opentelemetry/api';
import type { Attributes, Counter, Meter, MeterProvider } from '@opentelemetry/api';

/** The SDK's self-observability counter (semconv `otel.sdk.processor.span.processed`). */
const PROCESSED_SPANS_METRIC = 'otel.sdk.processor.span.processed';
/** `error.type` the batch processor reports for a span its full queue had to drop. */
const QUEUE_FULL = 'queue_full';

/**
 * Counts the spans a BatchSpanProcessor drops at its bounded queue, and
 * (through addFailedExport) those lost in exports that failed.
 *
 * The processor has no public drop hook, but it reports every drop on the
 * self-observability meter it is given (`selfObsMeterProvider`) as
 * `otel.sdk.processor.span.processed{error.type="queue_full"}`. This
 * provider hands it a meter whose one real instrument counts those drops;
 * everything else is the API's no-op, so no OpenTelemetry metrics pipeline
 * runs (metrics are prom-client's job here).
 */
export class DroppedSpanCounter implements MeterProvider {
  private dropped = 0;

  get count(): number {
    return this.dropped;
  }

  /** Spans whose export failed are lost as surely as those the full queue refused. */
  addFailedExport(spanCount: number): void {
    this.dropped += spanCount;
  }

  getMeter(): Meter {
    const noop = createNoopMeter();
    const counting: Counter = {
      add: (value: number, attributes?: Attributes) => {
        if (attributes?.['error.type'] === QUEUE_FULL) this.dropped += value;
      },
    };
    // Inherit the no-op instruments; replace only the counter the processor reports drops on.
    const meter = Object.create(noop) as Meter;
    meter.createCounter = (name, options) =>
      name === PROCESSED_SPANS_METRIC ? counting : noop.createCounter(name, options);
    return meter;
  }
}
