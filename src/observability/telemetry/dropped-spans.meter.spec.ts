import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { DroppedSpanCounter } from './dropped-spans.meter';

/** An exporter that holds every batch until released: the collector is hung. */
class HungExporter implements SpanExporter {
  readonly pending: ((result: ExportResult) => void)[] = [];
  recovered = false;
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.recovered) done({ code: ExportResultCode.SUCCESS });
    else this.pending.push(done);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  recover(): void {
    this.recovered = true;
    for (const done of this.pending.splice(0)) done({ code: ExportResultCode.SUCCESS });
  }
}

describe(DroppedSpanCounter.name, () => {
  it('counts the spans the batch processor drops at its full queue, and nothing else', async () => {
    const counter = new DroppedSpanCounter();
    const exporter = new HungExporter();
    const processor = new BatchSpanProcessor({
      exporter,
      maxQueueSize: 4,
      maxExportBatchSize: 2,
      scheduledDelayMillis: 60_000,
      selfObsMeterProvider: counter,
    });
    const provider = new TracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('test');

    // 2 go out in the first (hung) batch, 4 fill the queue, the other 4 are dropped.
    for (let i = 0; i < 10; i += 1) tracer.startSpan(`span ${i}`).end();
    expect(counter.count).toBe(4);

    exporter.recover();
    await provider.forceFlush();
    tracer.startSpan('after recovery').end();
    expect(counter.count).toBe(4);
    await provider.shutdown();
  });
});
