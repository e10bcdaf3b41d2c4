import autocannon from 'autocannon';
import type { AutocannonInstance, AutocannonResult } from 'autocannon';
import type { BenchApp } from './bench-app';

export interface LoadTarget {
  readonly label: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly completed: number;
  /** Requests answered including the warm-up. */
  readonly served: number;
  /** Errors, timeouts and non-2xx answers: a mode with failures is not comparable. */
  readonly failed: number;
  /** App CPU (user + system) per completed request, in µs: less sensitive to other load on the machine. */
  readonly cpuMicrosPerRequest: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
}

/** Instances still running, so Ctrl-C can stop them. */
const active = new Set<AutocannonInstance>();

export function stopAllLoad(): void {
  for (const instance of active) instance.stop();
}

/**
 * Unmeasured load for `warmupSeconds`, then `durationSeconds` measured, with
 * autocannon in this process and the app in its own child process.
 */
export async function measureLoad(
  app: BenchApp,
  target: LoadTarget,
  options: { connections: number; durationSeconds: number; warmupSeconds: number },
): Promise<LoadResult> {
  const warmup =
    options.warmupSeconds > 0
      ? await fire(app, target, options.connections, options.warmupSeconds)
      : undefined;
  const before = app.sample();
  const result = await fire(app, target, options.connections, options.durationSeconds);
  const after = app.sample();
  const completed = result.latency.totalCount;
  return {
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    completed,
    served: completed + (warmup?.latency.totalCount ?? 0),
    failed: result.errors + result.timeouts + result.non2xx,
    cpuMicrosPerRequest: completed > 0 ? ((after.cpuMs - before.cpuMs) * 1000) / completed : NaN,
    rssBeforeMiB: before.rssMiB,
    rssAfterMiB: after.rssMiB,
  };
}

function fire(
  app: BenchApp,
  target: LoadTarget,
  connections: number,
  durationSeconds: number,
): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${app.url}${target.path}`,
        method: target.method,
        headers: target.headers,
        body: target.body,
        connections,
        duration: durationSeconds,
        timeout: 10,
      },
      (error, result) => {
        active.delete(instance);
        if (error) reject(error);
        else resolve(result);
      },
    );
    active.add(instance);
  });
}
