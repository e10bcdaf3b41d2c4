import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { LOG_EVENTS } from '../catalog';
import type { TelemetryLog } from './telemetry.log';

export const EXPORT_WARNING_INTERVAL_MS = 60_000;

/**
 * Passes spans to the real exporter and turns its failures into at most one
 * warning a minute: with the collector down every batch fails, and a log
 * line per batch would bury everything else. The warning says how many
 * batches and spans failed since the last one.
 */
export class RateLimitedWarningExporter implements SpanExporter {
  private lastWarningAt = -Infinity;
  private failedBatches = 0;
  private failedSpans = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: TelemetryLog,
    private readonly endpoint: string,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = EXPORT_WARNING_INTERVAL_MS,
    /** Told of every failed batch's span count (otel_spans_dropped_total). */
    private readonly onSpansLost: (spanCount: number) => void = () => undefined,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.onFailure(spans.length, result.error);
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  private onFailure(spanCount: number, error: Error | undefined): void {
    this.onSpansLost(spanCount);
    this.failedBatches += 1;
    this.failedSpans += spanCount;
    const now = this.now();
    if (now - this.lastWarningAt < this.intervalMs) return;
    this.lastWarningAt = now;
    this.log.warn(
      LOG_EVENTS.telemetryExportFailed,
      'Span export to the OTLP endpoint failed; spans are being dropped until it recovers',
      {
        endpoint: this.endpoint,
        failed_batches: this.failedBatches,
        failed_spans: this.failedSpans,
        err: error?.message,
      },
    );
    this.failedBatches = 0;
    this.failedSpans = 0;
  }
}
