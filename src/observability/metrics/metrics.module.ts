import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { AppConfig } from '../../config';
import { MetricsController } from './metrics.controller';
import { ManagementMetricsMount } from './metrics-endpoint';
import { LlmPriceTable } from './llm-price-table';
import { MetricsService } from './metrics.service';

/**
 * Metrics on prom-client's global registry. Exports MetricsService, the only
 * recording API; with METRICS_ENABLED=false there is no /metrics route and
 * the service records nothing; with MANAGEMENT_PORT, /metrics is served by
 * the management listener instead of the API port. The HTTP metrics are Fastify hooks registered
 * in bootstrap (registerHttpMetrics), before any route.
 */
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    // Read here, while the module tree is declared: a bad LLM_PRICES_FILE stops the start
    // before any connection opens.
    const prices = LlmPriceTable.load(config.llm.pricesFile);
    const enabled = config.metrics.enabled;
    // With a management port, /metrics lives only on that listener (not exposed by the Service).
    const onManagementPort = enabled && config.managementPort !== undefined;
    return {
      module: MetricsModule,
      global: true,
      imports:
        enabled && !onManagementPort
          ? [
              PrometheusModule.register({
                controller: MetricsController,
                path: '/metrics',
                // MetricsService starts them once per process; prom-client throws on a second start.
                defaultMetrics: { enabled: false },
              }),
            ]
          : onManagementPort
            ? [DiscoveryModule]
            : [],
      providers: [
        { provide: LlmPriceTable, useValue: prices },
        MetricsService,
        ...(onManagementPort ? [ManagementMetricsMount] : []),
      ],
      exports: [MetricsService],
    };
  }
}
