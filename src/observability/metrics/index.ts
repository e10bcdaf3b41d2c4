export { MetricsModule } from './metrics.module';
export { BUDGET_SNAPSHOT_TIMEOUT_MS, MetricsService } from './metrics.service';
export type { BudgetSnapshotProvider } from './metrics.service';
export { HttpMetricsRecorder, registerHttpMetrics } from './http-metrics.hooks';
export type { HttpMetricsOptions } from './http-metrics.hooks';
export {
  contentTypeOf,
  negotiateExpositionFormat,
  renderMetrics,
  scrapeMetricsRegistry,
} from './metrics-exposition';
export type { ExpositionFormat, MetricsScrape, MetricsScrapeRequest } from './metrics-exposition';
export { createMetricsEndpoint } from './metrics-endpoint';
export { measureMetricsCost } from './metrics-cost';
export type { MetricsCost, MetricsCostOptions } from './metrics-cost';
export { LlmPriceTable } from './llm-price-table';
export type { ModelPrice } from './llm-price-table';
export * from './metric-names';
export type * from './metrics.types';
