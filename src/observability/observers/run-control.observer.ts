import { Injectable } from '@nestjs/common';
import { LOG_EVENTS } from '../catalog';
import { PinoLogger } from '../logging';
import { failureReport } from './failure-report';

/**
 * Runs controlled from outside their own request, reported once: a cancel
 * request (a run.cancel.requested line, saying whether the run was here or
 * the request was published to the other replicas), and a streamed or
 * background run whose end could not be stored (no exception filter sees it,
 * so this line is the only sign; the sweeper finishes the row later).
 */
@Injectable()
export class RunControlObserver {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('RunControl');
  }

  cancelRequested(runId: string, delivery: 'local' | 'published'): void {
    this.logger.info(
      { event: LOG_EVENTS.runCancelRequested, run_id: runId, delivery },
      'Run cancel requested',
    );
  }

  runFinishFailed(runId: string, error: unknown): void {
    const failure = failureReport(error);
    const fields = { event: LOG_EVENTS.runFinishFailed, run_id: runId };
    if (failure.unexpected) {
      this.logger.error({ ...fields, err: error }, 'Run ended but its end was not stored');
    } else {
      this.logger.warn(
        { ...fields, error_type: failure.errorType, error: (error as Error).message },
        'Run ended but its end was not stored; the sweeper finishes it',
      );
    }
  }
}
