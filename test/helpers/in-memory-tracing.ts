import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Env, loadConfig } from '../../src/config';
import {
  flushTelemetry,
  shutdownTelemetry,
  startTelemetry,
} from '../../src/observability/telemetry/telemetry.sdk';

export interface InMemoryTracing {
  /** Flushes the batch processor and returns every span exported so far. */
  collectSpans(): Promise<ReadableSpan[]>;
  /** The telemetry's own log lines, parsed. */
  readonly logs: Record<string, unknown>[];
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Starts the real telemetry SDK (sampler, processors, resource) in this
 * process with an in-memory exporter instead of OTLP. One per test file:
 * start in beforeAll, stop in afterAll.
 */
export function startInMemoryTracing(overrides: Env = {}): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const logs: Record<string, unknown>[] = [];
  const config = loadConfig({
    NODE_ENV: 'test',
    ENABLE_TELEMETRY: 'true',
    LOG_LEVEL: 'info',
    ...overrides,
  });
  startTelemetry(config, {
    exporter,
    write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  return {
    collectSpans: async () => {
      await flushTelemetry();
      return exporter.getFinishedSpans();
    },
    logs,
    reset: () => exporter.reset(),
    stop: () => shutdownTelemetry(1000),
  };
}

/** The one span named `name`; fails loudly when there is none or several. */
export function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const matches = spans.filter((span) => span.name === name);
  if (matches.length !== 1) {
    throw new Error(
      `expected one span named "${name}", found ${matches.length} among [${spans.map((s) => s.name).join(', ')}]`,
    );
  }
  return matches[0];
}
