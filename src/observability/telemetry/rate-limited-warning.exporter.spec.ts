import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { RateLimitedWarningExporter } from './rate-limited-warning.exporter';
import { TelemetryLog } from './telemetry.log';

class RefusingExporter implements SpanExporter {
  failing = true;
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done(
      this.failing
        ? { code: ExportResultCode.FAILED, error: new Error('14 UNAVAILABLE: connection refused') }
        : { code: ExportResultCode.SUCCESS },
    );
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const spans = (n: number) => Array.from({ length: n }, () => ({}) as ReadableSpan);

describe(RateLimitedWarningExporter.name, () => {
  it('warns at most once a minute while the collector refuses, with counts since the last warning', () => {
    const lines: Record<string, unknown>[] = [];
    const log = new TelemetryLog('info', (line) => lines.push(JSON.parse(line)));
    let now = 1_000_000;
    const inner = new RefusingExporter();
    const exporter = new RateLimitedWarningExporter(inner, log, 'http://collector:4317', () => now);
    const results: ExportResult[] = [];

    for (let batch = 0; batch < 50; batch += 1) {
      exporter.export(spans(10), (result) => results.push(result));
      now += 1000; // one failed batch a second
    }
    expect(results.every((result) => result.code === ExportResultCode.FAILED)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      event: 'telemetry.export.failed',
      endpoint: 'http://collector:4317',
      failed_batches: 1,
      failed_spans: 10,
    });

    for (let batch = 0; batch < 20; batch += 1) {
      exporter.export(spans(5), () => undefined);
      now += 1000;
    }
    expect(lines).toHaveLength(2);
    // 49 batches of 10 after the first warning, then 11 of 5 until the minute is up
    expect(lines[1]).toMatchObject({ failed_batches: 60, failed_spans: 545 });
  });

  it('reports every span of a failed batch as lost, and none of a successful one', () => {
    const inner = new RefusingExporter();
    let lost = 0;
    const exporter = new RateLimitedWarningExporter(
      inner,
      new TelemetryLog('silent', () => undefined),
      'http://collector:4317',
      Date.now,
      60_000,
      (count) => (lost += count),
    );
    exporter.export(spans(7), () => undefined);
    exporter.export(spans(3), () => undefined);
    inner.failing = false;
    exporter.export(spans(100), () => undefined);
    expect(lost).toBe(10);
  });

  it('says nothing while exports succeed', () => {
    const lines: string[] = [];
    const inner = new RefusingExporter();
    inner.failing = false;
    const exporter = new RateLimitedWarningExporter(
      inner,
      new TelemetryLog('info', (line) => lines.push(line)),
      'http://collector:4317',
    );
    exporter.export(spans(3), () => undefined);
    expect(lines).toEqual([]);
  });
});
