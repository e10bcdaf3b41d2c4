/** IPC between load.ts (in the bench process) and load-worker.ts (autocannon in its own process). */

export interface FireRequest {
  readonly type: 'fire';
  /** Matches the reply to the request. */
  readonly id: number;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly connections: number;
  readonly durationSeconds: number;
}

export type LoadWorkerMessage = FireRequest;

/** What autocannon measured, reduced to what the report uses. */
export interface FireResult {
  /** Mean over autocannon's one-second samples. */
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Responses received. */
  readonly completed: number;
  /** Errors, timeouts and non-2xx answers. */
  readonly failed: number;
}

export type LoadWorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly result: FireResult }
  | { readonly type: 'failed'; readonly id: number; readonly error: string };
