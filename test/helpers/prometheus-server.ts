import { ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort } from './free-port';
import { waitFor } from './wait-for';
import type { Doc } from './deploy-artefacts';

const INSTALL_HINT =
  'install Debian\'s "prometheus" package (bash scripts/ensure-services.sh does it)';

/** Absolute path of a binary on PATH; throws a clear error naming the fix when it is missing. */
export function requireBinary(name: 'prometheus' | 'promtool'): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not on PATH: ${INSTALL_HINT}`);
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs promtool with a time bound; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runPromtool(
  args: string[],
  cwd: string,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  const promtool = requireBinary('promtool');
  return new Promise((resolve, reject) => {
    execFile(promtool, args, { cwd, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`promtool ${args.join(' ')} did not finish: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

export interface PromQueryResult {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: {
    resultType: string;
    result: { metric: Record<string, string>; value?: [number, string] }[];
  };
}

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Instant query through the HTTP API (/api/v1/query), evaluated now. */
  query(expr: string): Promise<PromQueryResult>;
  /** GET a path of the HTTP API and return its parsed JSON. */
  api<T = Doc>(path: string): Promise<T>;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its temp dir. Safe to call twice. */
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A crashed test run must not leave a Prometheus behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts a real Prometheus on a free loopback port with the given
 * configuration (an object, written as prometheus.yml into a temp dir), and
 * waits until it answers /-/ready. Rule files should be absolute paths.
 */
export async function startPrometheus(
  config: Record<string, unknown>,
  { readyTimeoutMs = 30_000 }: { readyTimeoutMs?: number } = {},
): Promise<PrometheusServer> {
  const binary = requireBinary('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'eap-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, toYaml(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 10_000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5_000);
    }
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as T;
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`prometheus exited with code ${child.exitCode}: ${stderr}`);
        }
        try {
          const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
          return res.ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    await close();
    throw new Error(
      `prometheus did not become ready: ${error instanceof Error ? error.message : String(error)}\n${stderr}`,
    );
  }

  return {
    url,
    api,
    query: (expr) => api<PromQueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    close,
  };
}
