import { Injectable } from '@nestjs/common';
import { LOG_EVENTS } from '../catalog';
import type { HealthCheckReport } from '../catalog';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';

/**
 * Each real evaluation of a health component, reported once:
 * health_component_up and health_check_duration_seconds every time, and one
 * log line when the component changes state (not one per probe).
 */
@Injectable()
export class HealthCheckObserver {
  private readonly lastUp = new Map<string, boolean>();

  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('Health');
  }

  checked(report: HealthCheckReport): void {
    this.metrics.recordHealthCheck(report.component, report.up, report.durationMs / 1000);
    const previous = this.lastUp.get(report.component);
    this.lastUp.set(report.component, report.up);
    if (previous === report.up || (previous === undefined && report.up)) return;
    if (report.up) {
      this.logger.info(
        { event: LOG_EVENTS.healthComponentRecovered, component: report.component },
        'Component healthy again',
      );
    } else {
      this.logger.warn(
        { event: LOG_EVENTS.healthComponentDown, component: report.component, error: report.error },
        'Component unhealthy',
      );
    }
  }
}
