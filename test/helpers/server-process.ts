import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

/** Absolute path of the first of `names` found on PATH; throws `missing` when none is. */
export function findBinary(names: readonly string[], missing: () => Error): string {
  for (const name of names) {
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
  }
  throw missing();
}

export interface ServerProcess {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The process's own temp dir (configuration, data); removed on close. */
  readonly dir: string;
  /** Its last few KB of stderr, for failure messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 10 s; removes the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A crashed test run must not leave a server behind.
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
 * Starts a server binary (Prometheus, Alertmanager) on a free loopback port
 * with a temp dir of its own, and waits until `readyPath` answers 2xx. The
 * caller writes its configuration into the dir through `prepare`.
 */
export async function startServerProcess(options: {
  readonly name: string;
  readonly binary: string;
  readonly tempPrefix: string;
  /** Writes the configuration into `dir` and returns the command line for `port`. */
  readonly prepare: (dir: string, port: number) => string[];
  readonly readyPath: string;
  readonly readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), options.tempPrefix));
  let args: string[];
  try {
    args = options.prepare(dir, port);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`${options.name} exited with code ${child.exitCode}: ${stderr}`);
        }
        try {
          const res = await fetch(`${url}${options.readyPath}`, {
            signal: AbortSignal.timeout(2_000),
          });
          return res.ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await close();
    throw new Error(
      `${options.name} did not become ready: ${error instanceof Error ? error.message : String(error)}\n${stderr}`,
    );
  }
  return { url, port, dir, stderr: () => stderr, close };
}
