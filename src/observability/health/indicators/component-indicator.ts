import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { HealthComponent } from '../health.types';

/** What HealthService needs from each Terminus indicator. */
export interface ComponentIndicator {
  readonly component: HealthComponent;
  /** A critical component down makes the service unhealthy (503) and not ready. */
  readonly critical: boolean;
  /** False when the component is not configured: it is then left out of every report. */
  readonly configured: boolean;
  readonly cacheTtlMs: number;
  /** One bounded check; never rejects (Terminus turns errors and timeouts into `down`). */
  check(): PromiseLike<HealthIndicatorResult>;
}
