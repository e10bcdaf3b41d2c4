import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config';
import type { AppConfig } from '../../../config';
import { DEPENDENCY_CHECK_TTL_MS } from '../health.constants';
import { describeFailure, HealthCheckFailure } from '../health-failure';
import type { ComponentIndicator } from './component-indicator';

/** `SELECT 1` through the application's own DataSource: PostgreSQL or the embedded PGlite alike. */
@Injectable()
export class DatabaseHealthIndicator implements ComponentIndicator {
  readonly component = 'database';
  readonly critical = true;
  readonly configured = true;
  readonly cacheTtlMs = DEPENDENCY_CHECK_TTL_MS;
  private readonly timeoutMs: number;
  /**
   * A query to a hung server cannot be cancelled and holds a pool connection
   * until the driver's own timeout; later checks wait on the same one instead
   * of taking another connection each.
   */
  private pending: Promise<void> | undefined;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.timeoutMs = config.health.checkTimeoutMs;
  }

  check() {
    return this.health
      .check(this.component)
      .attempt(
        () =>
          (this.pending ??= this.ping().finally(() => {
            this.pending = undefined;
          })),
      )
      .withTimeout(this.timeoutMs);
  }

  private async ping(): Promise<void> {
    try {
      if (!this.dataSource.isInitialized) throw new HealthCheckFailure('not connected');
      await this.dataSource.query('SELECT 1');
    } catch (error) {
      throw new HealthCheckFailure(describeFailure(error));
    }
  }
}
