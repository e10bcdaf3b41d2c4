import { DynamicModule, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { TraceService } from 'nestjs-otel';
import type { AppConfig } from '../../config';
import { shutdownTelemetry } from './telemetry.sdk';

/** Flushes spans after the listener closed and in-flight requests ended, within a bound. */
@Injectable()
class TelemetryShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await shutdownTelemetry();
  }
}

/**
 * Tracing inside Nest. The SDK itself is started by the preload
 * (src/instrumentation.ts); this module provides nestjs-otel's TraceService
 * (its @Span decorator needs no provider) and flushes spans on shutdown.
 * Domain code uses the decorators and withSpan exported beside it.
 * Global, like the other pillars, so any provider can inject TraceService.
 *
 * nestjs-otel's OpenTelemetryModule is not imported on purpose: it applies a
 * wide-event middleware to every route, measured at about a fifth of the
 * throughput of a cheap endpoint, for a feature this app does not use.
 */
@Module({})
export class TelemetryModule {
  static forRoot(_config: AppConfig): DynamicModule {
    return {
      module: TelemetryModule,
      global: true,
      providers: [TelemetryShutdown, TraceService],
      exports: [TraceService],
    };
  }
}
