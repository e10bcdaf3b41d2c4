import type { Abstract, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import type { Registry } from 'prom-client';
import { ConfigModule, loadConfig } from '../../src/config';
import type { AppConfig, Env } from '../../src/config';
import { createRootLogger, LoggingModule } from '../../src/observability/logging';
import { METRICS_REGISTRY, MetricsModule } from '../../src/observability/metrics';
import { renderMetrics } from '../../src/observability/metrics/metrics-exposition';
import { ObserversModule } from '../../src/observability/observers';
import { captureLogs } from './log-capture';
import type { LogCapture } from './log-capture';
import { parseExposition } from './metrics';
import type { Sample } from './metrics';

export interface ObservedModule {
  readonly module: TestingModule;
  readonly config: AppConfig;
  /** The log lines the module wrote (LOG_LEVEL defaults to info). */
  readonly logs: LogCapture;
  readonly registry: Registry;
  /** Prometheus text (or OpenMetrics) of the module's registry, parsed. */
  samples(format?: 'prometheus' | 'openmetrics'): Promise<Sample[]>;
  get<T>(type: Type<T> | Abstract<T> | string | symbol): T;
  close(): Promise<void>;
}

export interface ObservedModuleOptions {
  readonly env?: Env;
  /** The providers under test (tools, clients, runners...), resolved with the observers. */
  readonly providers?: Provider[];
  readonly imports?: Type[];
}

/**
 * The observability layer as the application wires it (config, the root
 * logger writing to memory, the metrics module on its own registry, the
 * observers) plus the providers under test, in a Nest testing module: the
 * observing decorators get their observers injected exactly as in the app.
 */
export async function startObservedModule(
  options: ObservedModuleOptions = {},
): Promise<ObservedModule> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    ...options.env,
  });
  const logs = captureLogs();
  const module = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      LoggingModule.forRoot(createRootLogger(config, logs.destination)),
      MetricsModule.forRoot(config),
      ObserversModule,
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  }).compile();
  await module.init();
  const registry = module.get<Registry>(METRICS_REGISTRY);
  return {
    module,
    config,
    logs,
    registry,
    samples: async (format = 'prometheus') =>
      parseExposition(await renderMetrics(registry, format)),
    get: <T>(type: Type<T> | Abstract<T> | string | symbol) => module.get<T>(type),
    close: () => module.close(),
  };
}
