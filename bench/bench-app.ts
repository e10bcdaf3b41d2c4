import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Env } from '../src/config';
import type { AppKind } from './bench-modes';

export const REPO_ROOT = resolve(__dirname, '../..');
const DIST_MAIN = join(REPO_ROOT, 'dist/src/main.js');
const DIST_PRELOAD = join(REPO_ROOT, 'dist/src/instrumentation.js');
const DIST_PLAIN = join(REPO_ROOT, 'dist/bench/plain-app.js');

/** How each kind of app is started, and the path that answers 200 once it serves. */
const LAUNCH: Record<AppKind, { preload?: string; main: string; readyPath: string }> = {
  platform: { preload: DIST_PRELOAD, main: DIST_MAIN, readyPath: '/health/ready' },
  plain: { main: DIST_PLAIN, readyPath: '/v1/info' },
};

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux we run). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessSample {
  /** Resident set size in MiB (VmRSS). */
  readonly rssMiB: number;
  /** User + system CPU time consumed so far, in milliseconds. */
  readonly cpuMs: number;
}

export interface BenchApp {
  readonly url: string;
  readonly pid: number;
  /** Date.now() when the process was spawned. */
  readonly spawnedAt: number;
  /** Where the app's stdout and stderr go (the JSON access log in the logging modes). */
  readonly logFile: string;
  sample(): ProcessSample;
  /** SIGTERM (SIGKILL after graceMs); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartBenchAppOptions {
  /** The platform (default) or the plain NestJS reference app (bench/plain-app.ts). */
  readonly app?: AppKind;
  readonly env: Env;
  readonly logFile: string;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
}

/** Every child still running; run.ts stops them on exit, failure or Ctrl-C. */
const running = new Set<ChildProcess>();

/**
 * Starts the BUILT platform app exactly as production does (`node
 * --enable-source-maps --require dist/src/instrumentation.js dist/src/main.js`),
 * or the built plain app, on a free port, stdout and stderr to `logFile`, and
 * waits until it serves.
 */
export async function startBenchApp(options: StartBenchAppOptions): Promise<BenchApp> {
  const launch = LAUNCH[options.app ?? 'platform'];
  for (const file of [launch.preload, launch.main]) if (file) statSync(file); // fails clearly when not built
  const preload = launch.preload ? ['--require', launch.preload] : [];
  const port = await freePort();
  const output = openSync(options.logFile, 'w');
  const spawnedAt = Date.now();
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', ...(options.nodeArgs ?? []), ...preload, launch.main],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...options.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', output, output],
    },
  );
  closeSync(output);
  running.add(child);
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      running.delete(child);
      resolveExit();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const app: BenchApp = {
    url,
    pid: child.pid ?? -1,
    spawnedAt,
    logFile: options.logFile,
    sample: () => sampleProcess(child.pid ?? -1),
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the app exited during start-up:\n${tail(options.logFile)}`);
    }
    if (await isReady(`${url}${launch.readyPath}`)) return app;
    if (Date.now() > deadline) {
      await app.stop(2000);
      throw new Error(`the app was not ready within the timeout:\n${tail(options.logFile)}`);
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
}

/** Kills every child still running (on failure or Ctrl-C), without waiting. */
export function killBenchApps(): void {
  for (const child of running) child.kill('SIGKILL');
}

export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  // Fields 14 and 15 (utime, stime) of /proc/<pid>/stat; the name field may contain spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: rssKiB / 1024, cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** A TCP port nobody listens on right now (bound and released on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface RawResponse {
  /** Status line and headers, up to and including the blank line. */
  readonly head: string;
  readonly body: Buffer;
}

/**
 * One keep-alive GET as autocannon sends it, read off the socket as the app
 * wrote it: the bytes, headers included, that each answer under load costs.
 */
export function getRaw(baseUrl: string, path: string, timeoutMs = 5000): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolveResponse, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`GET ${path}: no whole answer within ${timeoutMs} ms`)),
    );
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`GET ${path}: connection closed mid-answer`)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd + 4).toString('latin1');
      const length = /^content-length:\s*(\d+)/im.exec(head)?.[1];
      if (length === undefined) {
        socket.destroy(new Error(`GET ${path}: no content-length in\n${head}`));
        return;
      }
      const body = received.subarray(headEnd + 4);
      if (body.length < Number(length)) return;
      resolveResponse({ head, body });
      socket.destroy();
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  });
}
