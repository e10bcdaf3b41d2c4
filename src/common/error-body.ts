import { STATUS_CODES } from 'node:http';

/** Every error answer of every listener: no stack traces, no internals. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  request_id: string | undefined;
  /** More fields of a failure that carries a record, e.g. the stored `run` of a failed run. */
  [field: string]: unknown;
}

/** The JSON error body, with the status's reason phrase as `error`. */
export function errorBody(
  statusCode: number,
  message: string,
  requestId: string | undefined,
): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, request_id: requestId };
}
