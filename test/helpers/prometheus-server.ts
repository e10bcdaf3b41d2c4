import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { Doc } from './deploy-artefacts';
import { findBinary, startServerProcess } from './server-process';

/** The binaries the deploy tests run, with the Debian package that ships each. */
const BINARIES = {
  prometheus: { names: ['prometheus'], debianPackage: 'prometheus' },
  promtool: { names: ['promtool'], debianPackage: 'prometheus' },
  // Debian renames the upstream `alertmanager` binary.
  alertmanager: {
    names: ['prometheus-alertmanager', 'alertmanager'],
    debianPackage: 'prometheus-alertmanager',
  },
  amtool: { names: ['amtool'], debianPackage: 'prometheus-alertmanager' },
} as const;

export type PrometheusBinary = keyof typeof BINARIES;

/** Absolute path of a binary on PATH; throws a clear error naming the fix when it is missing. */
export function requireBinary(name: PrometheusBinary): string {
  const { names, debianPackage } = BINARIES[name];
  return findBinary(
    names,
    () =>
      new Error(
        `${name} is not on PATH: install Debian's "${debianPackage}" package (bash scripts/ensure-services.sh does it)`,
      ),
  );
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
  return runTool('promtool', args, cwd, timeoutMs);
}

/** Runs amtool (Alertmanager's command line) the same way. */
export function runAmtool(args: string[], cwd: string, timeoutMs = 30_000): Promise<CommandResult> {
  return runTool('amtool', args, cwd, timeoutMs);
}

function runTool(
  name: 'promtool' | 'amtool',
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<CommandResult> {
  const binary = requireBinary(name);
  return new Promise((resolve, reject) => {
    execFile(binary, args, { cwd, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${name} ${args.join(' ')} did not finish: ${error.message}\n${stderr}`));
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

/**
 * Starts a real Prometheus on a free loopback port with the given
 * configuration (an object, written as prometheus.yml into a temp dir), and
 * waits until it answers /-/ready. Rule files should be absolute paths.
 */
export async function startPrometheus(
  config: Record<string, unknown>,
  { readyTimeoutMs = 30_000 }: { readyTimeoutMs?: number } = {},
): Promise<PrometheusServer> {
  const server = await startServerProcess({
    name: 'prometheus',
    binary: requireBinary('prometheus'),
    tempPrefix: 'eap-prometheus-',
    readyPath: '/-/ready',
    readyTimeoutMs,
    prepare: (dir, port) => {
      const configFile = join(dir, 'prometheus.yml');
      writeFileSync(configFile, toYaml(config));
      return [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ];
    },
  });

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as T;
  };

  return {
    url: server.url,
    api,
    query: (expr) => api<PromQueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    close: server.close,
  };
}
