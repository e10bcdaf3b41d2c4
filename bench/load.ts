import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { BenchApp } from './bench-app';
import type { FireResult, LoadWorkerMessage, LoadWorkerReply } from './load-protocol';

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
  /** The highest RSS sampled during the measured window, its two ends included. */
  readonly rssMaxMiB: number;
}

/** How often the app's RSS is read while it is under measured load. */
export const RSS_SAMPLE_INTERVAL_MS = 250;

const WORKER_SCRIPT = join(__dirname, 'load-worker.js');

/** autocannon in a child process of its own (bench/load-worker.ts), driven over IPC. */
export interface LoadWorker {
  readonly pid: number;
  /** `durationSeconds` of load on the target; resolves with autocannon's numbers. */
  fire(
    url: string,
    target: LoadTarget,
    options: { connections: number; durationSeconds: number },
  ): Promise<FireResult>;
  /** SIGKILL; a load in flight rejects. */
  kill(): void;
}

/** Every worker still running, so clean-up and Ctrl-C can kill them. */
const workers = new Set<ChildProcess>();

/** Kills every load worker still running (by its PID: they are ours), without waiting. */
export function killLoadWorkers(): void {
  for (const child of workers) child.kill('SIGKILL');
}

export function startLoadWorker(readyTimeoutMs = 30_000): Promise<LoadWorker> {
  const child = fork(WORKER_SCRIPT, [], {
    execArgv: ['--enable-source-maps'],
    env: { PATH: process.env.PATH, NODE_ENV: 'production', TZ: 'UTC' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  workers.add(child);
  const pending = new Map<
    number,
    { resolve(result: FireResult): void; reject(error: Error): void }
  >();
  let nextId = 1;
  let exit: string | undefined;

  child.on('message', (message: LoadWorkerReply) => {
    if (message.type === 'ready') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'done') waiter?.resolve(message.result);
    else waiter?.reject(new Error(`the load worker failed: ${message.error}`));
  });
  child.once('exit', (code, signal) => {
    workers.delete(child);
    exit = `the load worker exited (${signal ?? `code ${code}`})`;
    for (const waiter of pending.values()) waiter.reject(new Error(exit));
    pending.clear();
  });

  const worker: LoadWorker = {
    pid: child.pid ?? -1,
    fire: (url, target, options) => {
      if (exit) return Promise.reject(new Error(exit));
      const id = nextId++;
      const message: LoadWorkerMessage = {
        type: 'fire',
        id,
        url: `${url}${target.path}`,
        method: target.method,
        headers: target.headers,
        body: target.body,
        connections: options.connections,
        durationSeconds: options.durationSeconds,
      };
      return new Promise<FireResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send(message);
      });
    },
    kill: () => child.kill('SIGKILL'),
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the load worker was not ready within ${readyTimeoutMs} ms`));
    }, readyTimeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      reject(new Error(exit ?? 'the load worker exited during start-up'));
    };
    child.once('exit', onExit);
    child.once('message', () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(worker);
    });
  });
}

/**
 * Unmeasured load for `warmupSeconds`, then `durationSeconds` measured: two
 * separate loads from the worker, so the app's CPU time and RSS are read by
 * this process exactly at the ends of the measured one, and its RSS every
 * RSS_SAMPLE_INTERVAL_MS in between.
 */
export async function measureLoad(
  worker: LoadWorker,
  app: BenchApp,
  target: LoadTarget,
  options: { connections: number; durationSeconds: number; warmupSeconds: number },
): Promise<LoadResult> {
  const { connections } = options;
  const warmup =
    options.warmupSeconds > 0
      ? await worker.fire(app.url, target, { connections, durationSeconds: options.warmupSeconds })
      : undefined;
  const before = app.sample();
  const rss = sampleRss(app);
  let result: FireResult;
  try {
    result = await worker.fire(app.url, target, {
      connections,
      durationSeconds: options.durationSeconds,
    });
  } finally {
    rss.stop();
  }
  const after = app.sample();
  const { completed } = result;
  return {
    requestsPerSecond: result.requestsPerSecond,
    latencyP50Ms: result.latencyP50Ms,
    latencyP99Ms: result.latencyP99Ms,
    completed,
    served: completed + (warmup?.completed ?? 0),
    failed: result.failed,
    cpuMicrosPerRequest: completed > 0 ? ((after.cpuMs - before.cpuMs) * 1000) / completed : NaN,
    rssBeforeMiB: before.rssMiB,
    rssAfterMiB: after.rssMiB,
    rssMaxMiB: Math.max(before.rssMiB, after.rssMiB, ...rss.samples),
  };
}

function sampleRss(app: BenchApp): { readonly samples: number[]; stop(): void } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    try {
      samples.push(app.sample().rssMiB);
    } catch {
      // The app died under load: the sample after the load reports it.
    }
  }, RSS_SAMPLE_INTERVAL_MS);
  return { samples, stop: () => clearInterval(timer) };
}
