import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Env } from '../../src/config';
import { freePort } from './free-port';

const ROOT = resolve(__dirname, '../..');
const DIST_MAIN = join(ROOT, 'dist/src/main.js');
const DIST_PRELOAD = join(ROOT, 'dist/src/instrumentation.js');
const BUILD_LOCK = join(ROOT, 'dist/.build-lock');

export interface SpawnedApp {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** stdout and stderr, one entry per line, as they arrive. */
  readonly logs: readonly string[];
  /** stdout lines that parse as JSON objects (the structured log). */
  jsonLogs(): Record<string, unknown>[];
  /** Resolves with the first JSON log line matching, waiting up to timeoutMs. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves with how the process ended (SIGKILL after graceMs). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<AppExit>;
  /** Sends the signal without waiting (shutdown tests probe the app while it drains). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process exits by itself. */
  readonly exited: Promise<AppExit>;
}

export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnAppOptions {
  /** Preload the telemetry SDK (`--require dist/src/instrumentation.js`), as start:prod does. Default true. */
  preload?: boolean;
  /** Extra node flags, before the preload (e.g. ['--require', 'pg'] to load a module too early). */
  nodeArgs?: string[];
  /** How long to wait for the listener. */
  startTimeoutMs?: number;
}

/**
 * Runs the BUILT application in a child process, exactly as `npm run start:prod`
 * does (`node --require ./dist/src/instrumentation.js dist/src/main.js`), on a
 * free port, and waits until it answers HTTP. Unlike startTestApp (in-process,
 * under jest's module registry), this is where require-time instrumentation
 * (pg, ioredis), preloads, signals and exit codes behave as in production.
 *
 * Defaults: NODE_ENV=test, JSON logs at info, 127.0.0.1, a random Redis key
 * prefix, no drain, and a fresh embedded database unless DATABASE_URL is given.
 * Call ensureAppBuilt() first (once per test file, in beforeAll).
 */
export async function spawnApp(env: Env = {}, options: SpawnAppOptions = {}): Promise<SpawnedApp> {
  const port = await freePort();
  let dataDir: string | undefined;
  const childEnv: Env = {
    ...inheritedEnv(),
    NODE_ENV: 'test',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    REDIS_KEY_PREFIX: `eaptest:${randomBytes(4).toString('hex')}:`,
    SHUTDOWN_DRAIN_MS: '0',
    TZ: 'UTC',
    ...env,
    PORT: String(port),
  };
  if (!childEnv.DATABASE_URL && !childEnv.DATA_DIR) {
    dataDir = mkdtempSync(join(tmpdir(), 'eap-spawn-'));
    childEnv.DATA_DIR = dataDir;
  }

  const args = [
    '--enable-source-maps',
    ...(options.nodeArgs ?? []),
    ...(options.preload === false ? [] : ['--require', DIST_PRELOAD]),
    DIST_MAIN,
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const listeners = new Set<() => void>();
  collectLines(child, logs, () => listeners.forEach((notify) => notify()));

  const exited = new Promise<AppExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      resolveExit({ code, signal });
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const app: SpawnedApp = {
    url,
    port,
    pid: child.pid ?? -1,
    logs,
    exited,
    jsonLogs: () => parseJsonLines(logs),
    waitForLog: (match, timeoutMs = 10_000) =>
      new Promise((resolveLine, reject) => {
        const check = (): void => {
          const line = parseJsonLines(logs).find(match);
          if (!line) return;
          cleanup();
          resolveLine(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching log line within ${timeoutMs} ms:\n${logs.join('\n')}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async (signal = 'SIGTERM', graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  try {
    await waitUntilListening(url, exited, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await app.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- app output ---\n${logs.join('\n')}`);
  }
  return app;
}

/**
 * Builds dist/ with `npm run build` when any source file is newer than the
 * build. Test files running in parallel share one build through a lock
 * directory. Type errors elsewhere do not stop tsc from emitting, so only a
 * missing output fails.
 */
export async function ensureAppBuilt(timeoutMs = 240_000): Promise<void> {
  if (!buildIsStale()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build');
    await new Promise((wake) => setTimeout(wake, 500));
  }
  try {
    if (!buildIsStale()) return;
    const result = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        env: inheritedEnv(),
        encoding: 'utf8',
        timeout: timeoutMs,
      },
    );
    if (!exists(DIST_MAIN) || !exists(DIST_PRELOAD)) {
      throw new Error(
        `npm run build produced no dist/src/main.js:\n${result.stdout}${result.stderr}`,
      );
    }
  } finally {
    rmdirSync(BUILD_LOCK);
  }
}

function tryLock(): boolean {
  try {
    mkdirSync(BUILD_LOCK);
    return true;
  } catch {
    // A lock older than the build timeout was left by a killed run.
    try {
      if (Date.now() - statSync(BUILD_LOCK).mtimeMs > 300_000) rmdirSync(BUILD_LOCK);
    } catch {
      // gone already
    }
    return false;
  }
}

function buildIsStale(): boolean {
  if (!exists(DIST_MAIN) || !exists(DIST_PRELOAD)) return true;
  const built = Math.min(statSync(DIST_MAIN).mtimeMs, statSync(DIST_PRELOAD).mtimeMs);
  return ['src', 'tools'].some((dir) => newestSource(join(ROOT, dir)) > built);
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The test runner's environment minus jest's NODE_OPTIONS (vm modules are a jest concern). */
function inheritedEnv(): Env {
  const { NODE_OPTIONS: _jestOnly, ...rest } = process.env;
  return rest;
}

function collectLines(child: ChildProcess, logs: string[], onLine: () => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      logs.push(...lines.filter((line) => line !== ''));
      onLine();
    });
    stream?.on('end', () => {
      if (partial) logs.push(partial);
      onLine();
    });
  }
}

function parseJsonLines(lines: readonly string[]): Record<string, unknown>[] {
  const parsed: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      parsed.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return parsed;
}

/** Any HTTP answer means the listener is up; the process exiting first is a failure. */
async function waitUntilListening(
  url: string,
  exited: Promise<AppExit>,
  timeoutMs: number,
): Promise<void> {
  let exit: AppExit | undefined;
  void exited.then((value) => (exit = value));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit)
      throw new Error(`the app exited before listening (code ${exit.code}, signal ${exit.signal})`);
    try {
      await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }
  throw new Error(`the app did not listen within ${timeoutMs} ms`);
}
