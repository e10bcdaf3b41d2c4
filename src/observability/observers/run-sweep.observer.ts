import { Injectable } from '@nestjs/common';
import { LOG_EVENTS } from '../catalog';
import type { InterruptedRunsReport } from '../catalog';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';

/**
 * Run ids written on one line at most (the logger keeps no more of an array):
 * the count is exact, the list is for finding a few.
 */
const MAX_LOGGED_RUN_IDS = 20;

/**
 * The sweeper of runs left `running`, reported once: the runs it finished
 * (agent_runs_interrupted_total and a run.interrupted line) and a sweep the
 * database could not answer (a run.sweep.failed line; the next one retries).
 */
@Injectable()
export class RunSweepObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('RunSweeper');
  }

  interrupted(report: InterruptedRunsReport): void {
    this.metrics.recordRunsInterrupted(report.runIds.length);
    this.logger.warn(
      {
        event: LOG_EVENTS.runInterrupted,
        count: report.runIds.length,
        run_ids: report.runIds.slice(0, MAX_LOGGED_RUN_IDS),
        older_than_ms: report.olderThanMs,
      },
      'Runs left running past RUN_TIMEOUT_MS finished as error / interrupted',
    );
  }

  sweepFailed(error: unknown): void {
    this.logger.warn(
      {
        event: LOG_EVENTS.runSweepFailed,
        error: error instanceof Error ? error.message : String(error),
      },
      'Could not sweep runs left running; the next sweep tries again',
    );
  }
}
