import { Inject, Injectable } from '@nestjs/common';
import { DiskHealthIndicator, HealthIndicatorService } from '@nestjs/terminus';
import { APP_CONFIG } from '../../../config';
import type { AppConfig } from '../../../config';
import { DISK_CHECK_TTL_MS } from '../health.constants';
import { describeFailure, HealthCheckFailure } from '../health-failure';
import type { ComponentIndicator } from './component-indicator';

/**
 * Usage of the file system holding HEALTH_DISK_PATH against
 * HEALTH_DISK_THRESHOLD, through Terminus' disk indicator, bounded by the
 * check timeout (a stale network mount can hang statfs) and cached.
 */
@Injectable()
export class DiskSpaceHealthIndicator implements ComponentIndicator {
  readonly component = 'disk';
  readonly critical = false;
  readonly configured = true;
  readonly cacheTtlMs = DISK_CHECK_TTL_MS;
  private readonly path: string;
  private readonly threshold: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly disk: DiskHealthIndicator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.path = config.health.diskPath;
    this.threshold = config.health.diskThreshold;
    this.timeoutMs = config.health.checkTimeoutMs;
  }

  check() {
    return this.health
      .check(this.component)
      .attempt(async () => {
        let result;
        try {
          result = await this.disk.checkStorage(this.component, {
            path: this.path,
            thresholdPercent: this.threshold,
          });
        } catch (error) {
          throw new HealthCheckFailure(describeFailure(error));
        }
        if (result[this.component].status !== 'up') {
          throw new HealthCheckFailure('usage above threshold');
        }
      })
      .withTimeout(this.timeoutMs);
  }
}
