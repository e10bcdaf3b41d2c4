export { MetricsModule } from './metrics.module';
export { MetricsService } from './metrics.service';
export * from './metric-names';
export type * from './metrics.types';
