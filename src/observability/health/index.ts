export { HealthModule } from './health.module';
export { HealthService } from './health.service';
export { httpStatusOf } from './health.controller';
export { ShutdownState } from './shutdown-state';
export { enableGracefulShutdown } from './graceful-shutdown';
export type { GracefulShutdownOptions } from './graceful-shutdown';
export { DRAIN_PLUGIN, drainPlugin } from './drain.plugin';
export { REFUSED_BODY_PLUGIN, refusedBodyPlugin } from './refused-body.plugin';
export type { RefusedBodyOptions } from './refused-body.plugin';
export type { DrainOptions } from './drain.plugin';
export type {
  ComponentReport,
  ComponentStatus,
  HealthComponent,
  HealthReport,
  HealthStatus,
} from './health.types';
