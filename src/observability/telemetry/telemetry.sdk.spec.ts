import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { loadConfig } from '../../config';
import { APP_VERSION } from '../../common';
import {
  droppedSpanCount,
  flushTelemetry,
  isTelemetryStarted,
  shutdownTelemetry,
  startTelemetry,
} from './telemetry.sdk';
import { isTracingActive } from './telemetry.state';

/** A collector that never answers: exports and shutdown hang forever. */
class BlackHoleExporter implements SpanExporter {
  export(_spans: ReadableSpan[]): void {}
  shutdown(): Promise<void> {
    return new Promise(() => undefined);
  }
}

function config(env: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: 'test',
    ENABLE_TELEMETRY: 'true',
    LOG_LEVEL: 'info',
    // the processor's per-export timer would keep jest alive for 30 s after a black-holed export
    OTEL_BSP_EXPORT_TIMEOUT: '100',
    ...env,
  });
}

describe(startTelemetry.name, () => {
  afterEach(() => shutdownTelemetry(500));

  it('logs telemetry.initialized once with the endpoint and the sample ratio; a second start is a no-op', () => {
    const lines: Record<string, unknown>[] = [];
    const write = (line: string) => lines.push(JSON.parse(line));
    const settings = config({ OTLP_ENDPOINT: 'http://collector:4317', TRACE_SAMPLE_RATIO: '0.25' });

    expect(startTelemetry(settings, { exporter: new InMemorySpanExporter(), write })).toBe(true);
    expect(startTelemetry(settings, { exporter: new InMemorySpanExporter(), write })).toBe(false);

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      event: 'telemetry.initialized',
      message: expect.any(String),
      endpoint: 'http://collector:4317',
      sample_ratio: 0.25,
    });
    expect(new Date(lines[0].timestamp as string).toISOString()).toBe(lines[0].timestamp);
    expect(isTracingActive()).toBe(true);
  });

  it('writes nothing with LOG_LEVEL=silent', () => {
    const lines: string[] = [];
    startTelemetry(config({ LOG_LEVEL: 'silent' }), {
      exporter: new InMemorySpanExporter(),
      write: (line) => lines.push(line),
    });
    expect(lines).toEqual([]);
  });

  it('exports spans with the SPEC resource; OTEL_SERVICE_NAME overrides the service name', async () => {
    const exporter = new InMemorySpanExporter();
    startTelemetry(config({ OTEL_SERVICE_NAME: 'eap-staging' }), { exporter, write: () => {} });
    trace.getTracer('test').startSpan('probe').end();
    await flushTelemetry();

    const [span] = exporter.getFinishedSpans();
    expect(span.resource.attributes).toMatchObject({
      'service.name': 'eap-staging',
      'service.version': APP_VERSION,
      'deployment.environment.name': 'test',
      'service.instance.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('counts spans dropped at the bounded queue', () => {
    startTelemetry(config({ OTEL_BSP_MAX_QUEUE_SIZE: '3', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '3' }), {
      exporter: new BlackHoleExporter(),
      write: () => {},
    });
    const tracer = trace.getTracer('test');
    // 3 leave in the first (never answered) batch, 3 fill the queue, 4 are dropped.
    for (let i = 0; i < 10; i += 1) tracer.startSpan(`s${i}`).end();
    expect(droppedSpanCount()).toBe(4);
  });
});

describe(shutdownTelemetry.name, () => {
  it('returns within its bound when the collector never answers, and turns tracing off', async () => {
    startTelemetry(config(), { exporter: new BlackHoleExporter(), write: () => {} });
    trace.getTracer('test').startSpan('pending').end();

    await shutdownTelemetry(50);

    expect(isTelemetryStarted()).toBe(false);
    expect(isTracingActive()).toBe(false);
    expect(droppedSpanCount()).toBe(0);
  });

  it('is safe to call when telemetry never started, and twice', async () => {
    await expect(shutdownTelemetry(10)).resolves.toBeUndefined();
    await expect(shutdownTelemetry(10)).resolves.toBeUndefined();
  });
});
