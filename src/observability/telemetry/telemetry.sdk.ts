import { randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { APP_VERSION } from '../../common';
import type { AppConfig } from '../../config';
import { LOG_EVENTS } from '../catalog';
import { DroppedSpanCounter } from './dropped-spans.meter';
import { OtlpGrpcTraceExporter } from './otlp-grpc-trace.exporter';
import { ATTR } from './gen-ai.attributes';
import {
  EXPORT_WARNING_INTERVAL_MS,
  RateLimitedWarningExporter,
} from './rate-limited-warning.exporter';
import { RequestAttributesSpanProcessor } from './request-attributes.span-processor';
import { RequestRootSampler } from './request-root.sampler';
import { activateTracing, deactivateTracing } from './telemetry.state';
import { TelemetryLog } from './telemetry.log';

/** Bound on flushing spans at shutdown: a black-holed collector would hold it for the 10 s gRPC deadline. */
export const TELEMETRY_SHUTDOWN_TIMEOUT_MS = 3000;

/** Libraries patched on require: loaded before the SDK starts, they go untraced. */
const PATCHED_ON_REQUIRE = ['pg', 'pg-pool', 'ioredis'];

export interface TelemetryStartOptions {
  /** Replaces the OTLP gRPC exporter (tests). */
  exporter?: SpanExporter;
  /** Where the telemetry's own log lines go (tests); stdout by default. */
  write?: (line: string) => void;
}

interface RunningTelemetry {
  sdk: NodeSDK;
  instrumentations: Instrumentation[];
  dropped: DroppedSpanCounter;
  shutdown?: Promise<void>;
}

let running: RunningTelemetry | undefined;

/**
 * Starts the OpenTelemetry Node SDK. Called by the preload
 * (src/instrumentation.ts) before the application is required, so the pg
 * and ioredis instrumentations can patch those modules as they load; undici
 * (global fetch) is observed through diagnostics channels and works whenever
 * it starts. Idempotent: a second call is a no-op and returns false.
 */
export function startTelemetry(config: AppConfig, options: TelemetryStartOptions = {}): boolean {
  if (running) return false;
  const telemetry = config.telemetry;
  const log = new TelemetryLog(config.log.level, options.write);

  const lateModules = loadedTooEarly();
  if (lateModules.length > 0) {
    log.warn(
      LOG_EVENTS.telemetryLateStart,
      'Instrumented modules were loaded before the OpenTelemetry SDK started; their calls are not traced. Preload it: node --require ./dist/src/instrumentation.js',
      { modules: lateModules },
    );
  }

  const dropped = new DroppedSpanCounter();
  const exporter = new RateLimitedWarningExporter(
    options.exporter ?? new OtlpGrpcTraceExporter({ url: telemetry.otlpEndpoint }),
    log,
    telemetry.otlpEndpoint,
    Date.now,
    EXPORT_WARNING_INTERVAL_MS,
    (spanCount) => dropped.addFailedExport(spanCount),
  );
  const spanProcessors: SpanProcessor[] = [
    new RequestAttributesSpanProcessor(),
    new BatchSpanProcessor({
      exporter,
      maxQueueSize: telemetry.batch.maxQueueSize,
      maxExportBatchSize: Math.min(
        telemetry.batch.maxExportBatchSize,
        telemetry.batch.maxQueueSize,
      ),
      scheduledDelayMillis: telemetry.batch.scheduledDelayMs,
      exportTimeoutMillis: telemetry.batch.exportTimeoutMs,
      selfObsMeterProvider: dropped,
    }),
  ];

  const instrumentations = buildInstrumentations();
  const sdk = new NodeSDK({
    resource: buildResource(config),
    autoDetectResources: false,
    sampler: new ParentBasedSampler({ root: new RequestRootSampler(telemetry.sampleRatio) }),
    spanProcessors,
    instrumentations,
    // Metrics are prom-client's and logs pino's: no OpenTelemetry pipelines for them.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  running = { sdk, instrumentations, dropped };
  activateTracing({
    captureMessageContent: telemetry.captureMessageContent,
    sampleRatio: telemetry.sampleRatio,
  });

  log.info(LOG_EVENTS.telemetryInitialized, 'OpenTelemetry tracing started', {
    exporter: 'otlp-grpc',
    endpoint: telemetry.otlpEndpoint,
    sample_ratio: telemetry.sampleRatio,
    service_name: telemetry.serviceName,
    capture_message_content: telemetry.captureMessageContent,
  });
  return true;
}

/**
 * Flushes pending spans and stops the SDK, waiting at most timeoutMs.
 * Idempotent; safe to call when telemetry never started. Never rejects.
 */
export async function shutdownTelemetry(timeoutMs = TELEMETRY_SHUTDOWN_TIMEOUT_MS): Promise<void> {
  const current = running;
  if (!current) return;
  current.shutdown ??= current.sdk.shutdown().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([current.shutdown, bound]);
  } finally {
    clearTimeout(timer);
    deactivateTracing();
    if (running === current) {
      running = undefined;
      // NodeSDK.shutdown leaves the patches and channel subscriptions in place.
      for (const instrumentation of current.instrumentations) instrumentation.disable();
      // Lets a later start (tests) register its providers again.
      trace.disable();
      context.disable();
      propagation.disable();
    }
  }
}

/** Exports every finished span now (tests, and callers that must not lose the last spans). */
export async function flushTelemetry(): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const delegate = provider.getDelegate?.() as { forceFlush?: () => Promise<void> } | undefined;
  await delegate?.forceFlush?.();
}

/** Spans lost since start (full queue or failed export): the source of otel_spans_dropped_total. */
export function droppedSpanCount(): number {
  return running?.dropped.count ?? 0;
}

export function isTelemetryStarted(): boolean {
  return running !== undefined;
}

/**
 * Inbound HTTP is traced by our own Fastify hooks (http-server-tracing.hooks.ts),
 * so no http, net, dns or fs instrumentation is loaded. Database, Redis and
 * outbound fetch spans exist only inside a trace: health checks and
 * background work make no root spans of their own.
 */
function buildInstrumentations(): Instrumentation[] {
  return [
    new UndiciInstrumentation({ requireParentforSpans: true }),
    new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
}

/**
 * service.name, service.version, deployment.environment.name and
 * service.instance.id; OTEL_RESOURCE_ATTRIBUTES may add to or override all
 * but service.name, which OTEL_SERVICE_NAME (through the config) decides.
 */
function buildResource(config: AppConfig): Resource {
  return defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR.serviceVersion]: APP_VERSION,
        [ATTR.deploymentEnvironmentName]: config.env,
        [ATTR.serviceInstanceId]: randomUUID(),
      }),
    )
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector] }))
    .merge(resourceFromAttributes({ [ATTR.serviceName]: config.telemetry.serviceName }));
}

function loadedTooEarly(): string[] {
  const loaded = Object.keys(require.cache);
  return PATCHED_ON_REQUIRE.filter((name) =>
    loaded.some((path) => path.includes(`/node_modules/${name}/`)),
  );
}
