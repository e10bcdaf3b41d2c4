import { DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { AppConfig } from '../../config';
import { HttpMetricsRecorder } from './http-metrics.plugin';
import { LlmPriceTable } from './llm-price-table';
import {
  createMetricsRegistry,
  METRICS_REGISTRY,
  metricProviders,
  ScrapeSources,
} from './metric-providers';
import { MetricsController } from './metrics.controller';
import { LiveMetricsService, MetricsService, NoopMetricsService } from './metrics.service';

/**
 * Metrics on @willsoto/nestjs-prometheus providers, on a registry of the
 * application's own. Exports MetricsService, the recording API. With
 * METRICS_ENABLED=false there is no /metrics route, no registry, and the
 * service records nothing; with MANAGEMENT_PORT, /metrics is served by the
 * management listener instead of the API port. The HTTP metrics are a
 * Fastify plugin (registerObservability).
 */
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    // Read here, while the module tree is declared: a bad LLM_PRICES_FILE stops the start
    // before any connection opens.
    const prices = LlmPriceTable.load(config.llm.pricesFile);
    const pricesProvider = { provide: LlmPriceTable, useValue: prices };
    if (!config.metrics.enabled) {
      return {
        module: MetricsModule,
        global: true,
        providers: [pricesProvider, { provide: MetricsService, useClass: NoopMetricsService }],
        exports: [MetricsService, LlmPriceTable],
      };
    }
    const registry = createMetricsRegistry();
    return {
      module: MetricsModule,
      global: true,
      // With a management port, /metrics lives only on that listener (not exposed by the Service).
      imports:
        config.managementPort === undefined
          ? [
              PrometheusModule.register({
                controller: MetricsController,
                path: '/metrics',
                // The registry collects them (createMetricsRegistry); the library would use the global one.
                defaultMetrics: { enabled: false },
              }),
            ]
          : [],
      providers: [
        pricesProvider,
        ...metricProviders(registry),
        { provide: MetricsService, useClass: LiveMetricsService },
        HttpMetricsRecorder,
      ],
      exports: [
        MetricsService,
        LlmPriceTable,
        METRICS_REGISTRY,
        ScrapeSources,
        HttpMetricsRecorder,
      ],
    };
  }
}
