import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Env } from '../../src/config';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

const ROOT = resolve(__dirname, '../..');
const MAIN = resolve(ROOT, 'dist/src/main.js');

let build: Promise<void> | undefined;

/** `npm run build` once per test file (tsc into dist/), so the child runs exactly what production runs. */
export function buildApp(): Promise<void> {
  build ??= new Promise<void>((resolvePromise, reject) => {
    execFile(
      process.execPath,
      [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error || !existsSync(MAIN)) {
          reject(new Error(`npm run build failed:\n${stdout}${stderr}`));
          return;
        }
        resolvePromise();
      },
    );
  });
  return build;
}

export interface AppProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AppProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** JSON log lines written so far (NODE_ENV=production logs JSON). */
  readonly logs: Array<Record<string, unknown>>;
  readonly exited: Promise<AppProcessExit>;
  /** SIGKILLs the process if it is still running. */
  kill(): Promise<void>;
}

/**
 * Spawns the built app (`node dist/src/main.js`) as a child process on a
 * free port and waits until /health/live answers: for tests that send it
 * real signals.
 */
export async function spawnBuiltApp(env: Env): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      TZ: 'UTC',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const output: string[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      output.push(line);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a JSON log line
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  const exited = new Promise<AppProcessExit>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}`);
        return fetch(`${url}/health/live`).then(
          (res) => res.ok,
          () => false,
        );
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await kill();
    throw new Error(`the built app did not start: ${String(error)}\n${output.join('\n')}`);
  }
  return { url, child, logs, exited, kill };
}
