import { Injectable } from '@nestjs/common';
import { LOG_EVENTS } from '../catalog';
import type { RunRefusal } from '../catalog';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';

/**
 * Whether a run may start at all, reported once: a run refused for its
 * tenant's concurrency limit (agent_runs_refused_total and a run.refused
 * line), and a run slot that could not be given back.
 */
@Injectable()
export class RunAdmissionObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('TenantRunSlots');
  }

  refused(refusal: RunRefusal): void {
    this.metrics.recordRunRefused(refusal.tenantId, refusal.reason);
    this.logger.warn(
      {
        event: LOG_EVENTS.runRefused,
        reason: refusal.reason,
        limit: refusal.limit,
        in_flight: refusal.inFlight,
      },
      'Run refused: the tenant already has its limit of runs in flight',
    );
  }

  /** The slot stays taken until it expires: the tenant has one run fewer until then. */
  slotReleaseFailed(error: unknown, expiresInMs: number): void {
    this.logger.warn(
      { event: LOG_EVENTS.runSlotReleaseFailed, err: error, expires_in_ms: expiresInMs },
      'Run slot not released; it frees itself when it expires',
    );
  }
}
