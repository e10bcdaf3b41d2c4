import { ClassifiedError } from '../../common';
import type { FailureReport } from '../catalog';
import { errorTypeOf } from '../telemetry';

/**
 * The report of an error thrown by an observed operation: its `errorType`
 * when it is a classified (anticipated) failure, else its class name, and
 * whether it is a bug.
 */
export function failureReport(error: unknown, errorType = errorTypeOf(error)): FailureReport {
  return { errorType, unexpected: !(error instanceof ClassifiedError), error };
}
