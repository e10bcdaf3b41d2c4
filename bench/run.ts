// `npm run bench`: SPEC 11's overhead benchmark. See docs/performance.md.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Env } from '../src/config';
import { startLlmSimulator, type LlmSimulator } from '../tools/llm-simulator';
import { freePort, killBenchApps, REPO_ROOT, startBenchApp, type BenchApp } from './bench-app';
import { benchMode, type ModeName } from './bench-modes';
import { BenchUsageError, parseBenchOptions, type BenchOptions } from './bench-options';
import {
  checkTargets,
  fixed,
  renderReport,
  type MetricsProbeResult,
  type ModeRun,
} from './bench-report';
import {
  benchKeyPrefix,
  BENCH_REDIS_URL,
  createBenchDatabase,
  deleteRedisKeys,
  type BenchDatabase,
} from './bench-stores';
import { summariseProfile, type CpuProfile } from './cpu-profile';
import { measureLoad, stopAllLoad, type LoadTarget } from './load';
import { startOtlpSpanCounter, type OtlpSpanCounter } from './otlp-span-counter';

const ADMIN_API_KEY = 'bench-admin-key-0123456789abcdef';
/** Two model calls and one calculator call per run with the simulator's scripted model. */
const RUN_INPUT = 'What is (2+3)*4?';
const HUGE_BUDGET = 1_000_000_000_000;

interface Resources {
  simulator?: LlmSimulator;
  receiver?: OtlpSpanCounter;
  database?: BenchDatabase;
  keyPrefix?: string;
  workDir?: string;
}

const resources: Resources = {};
let cleaning: Promise<void> | undefined;

/** Idempotent: called at the end, on failure and on Ctrl-C. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    stopAllLoad();
    killBenchApps();
    const steps: [string, () => unknown][] = [
      ['LLM simulator', () => resources.simulator?.close()],
      ['OTLP receiver', () => resources.receiver?.stop()],
      ['bench database', () => resources.database?.drop()],
      ['Redis keys', () => resources.keyPrefix && deleteRedisKeys(resources.keyPrefix)],
      [
        'work dir',
        () => resources.workDir && rmSync(resources.workDir, { recursive: true, force: true }),
      ],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (error) {
        process.stderr.write(`bench: cleaning up the ${what} failed: ${String(error)}\n`);
      }
    }
  })();
  return cleaning;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof BenchUsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the apps and cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  const started = Date.now();
  log(`measuring /metrics with ${options.tenants} tenants (separate process)`);
  const metrics = await runMetricsProbe(options.tenants);

  resources.workDir = mkdtempSync(join(tmpdir(), 'eap-bench-'));
  resources.simulator = await startLlmSimulator({
    latencyMs: 0,
    host: '127.0.0.1',
    port: 0,
    maxRecordedRequests: 10,
  });
  resources.receiver = await startOtlpSpanCounter();
  resources.database = await createBenchDatabase();
  resources.keyPrefix = benchKeyPrefix();
  const endpoints = {
    otlpReceiver: resources.receiver.endpoint,
    otlpUnreachable: `http://127.0.0.1:${await freePort()}`,
  };
  const commonEnv: Env = {
    NODE_ENV: 'production',
    TZ: 'UTC',
    DATABASE_URL: resources.database.url,
    REDIS_URL: BENCH_REDIS_URL,
    REDIS_KEY_PREFIX: resources.keyPrefix,
    LLM_PROXY_URL: resources.simulator.url,
    ADMIN_API_KEY,
    SHUTDOWN_DRAIN_MS: '0',
  };
  log(`database ${resources.database.name}, Redis prefix ${resources.keyPrefix}`);

  // Bare runs first and again last: the two show how much the machine drifted during the run.
  const order: ModeName[] = [...options.modes, 'bare'];
  const runs: ModeRun[] = [];
  let profileSection: string | undefined;
  for (const [index, name] of order.entries()) {
    const mode = benchMode(name, endpoints);
    const profiled = options.profile === name && !runs.some((run) => run.mode === name);
    const label = runs.some((run) => run.mode === name) ? `${name} (repeat)` : name;
    log(`mode ${index + 1}/${order.length}: ${label} (${mode.description})`);
    resources.receiver.reset();
    const profileDir = join(REPO_ROOT, 'bench/results');
    const profileName = `${name}.cpuprofile`;
    const app = await startBenchApp({
      env: { ...commonEnv, ...mode.env },
      logFile: join(resources.workDir, `${index}-${name}.log`),
      nodeArgs: profiled
        ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', profileName]
        : [],
    });
    try {
      const rssStartMiB = app.sample().rssMiB;
      const targets = await prepareTargets(app);
      const load = {
        connections: options.connections,
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
      };
      const info = await measureLoad(app, targets.info, load);
      log(`  /v1/info ${fixed(info.requestsPerSecond, 0)} req/s, p99 ${info.latencyP99Ms} ms`);
      const agentRuns = await measureLoad(app, targets.runs, load);
      log(
        `  runs     ${fixed(agentRuns.requestsPerSecond, 0)} req/s, p99 ${agentRuns.latencyP99Ms} ms`,
      );
      const rssEndMiB = app.sample().rssMiB;
      await app.stop();
      runs.push({
        mode: name,
        label: profiled ? `${label} (profiled)` : label,
        description: mode.description,
        results: { info, runs: agentRuns },
        rssStartMiB,
        rssEndMiB,
        // Read after stop: shutdown flushes the batch processor's queue.
        spansReceived: mode.exportsSpans ? resources.receiver.spans : undefined,
      });
      if (profiled) profileSection = profileReport(name, join(profileDir, profileName));
    } finally {
      await app.stop(5000);
    }
  }

  const report = renderReport({
    settings: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      cpus: availableParallelism(),
      node: process.versions.node,
      startedAt: new Date(started).toISOString(),
      totalSeconds: (Date.now() - started) / 1000,
    },
    runs,
    metrics,
    profile: profileSection,
  });
  const output = resolve(REPO_ROOT, options.output);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, report);
  process.stdout.write(report);
  log(`written to ${output}`);
  const failed = checkTargets(runs, metrics).filter((check) => check.pass === false);
  if (failed.length > 0) log(`${failed.length} target(s) missed: see the report`);
}

/** Creates a tenant with a huge budget and a calculator agent, and checks one run end to end. */
async function prepareTargets(app: BenchApp): Promise<{ info: LoadTarget; runs: LoadTarget }> {
  const tenant = await postJson(app.url, '/v1/tenants', ADMIN_API_KEY, {
    name: 'bench',
    daily_token_limit: HUGE_BUDGET,
    monthly_token_limit: HUGE_BUDGET,
  });
  const key = (tenant.api_key as string) ?? '';
  const agent = await postJson(app.url, '/v1/agents', key, {
    name: 'Bench calculator',
    type: 'bench_agent',
    model: 'sim-small',
    instructions: 'Answer with the calculator.',
    tools: ['calculator'],
    max_steps: 5,
  });
  const path = `/v1/agents/${String(agent.id)}/runs`;
  const body = JSON.stringify({ input: RUN_INPUT });
  const run = await postJson(app.url, path, key, { input: RUN_INPUT });
  if (run.status !== 'success' || run.steps !== 2) {
    throw new Error(`the sample run is not 2 steps with success: ${JSON.stringify(run)}`);
  }
  return {
    info: { label: 'info', method: 'GET', path: '/v1/info' },
    runs: {
      label: 'runs',
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    },
  };
}

async function postJson(
  baseUrl: string,
  path: string,
  key: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function runMetricsProbe(tenants: number): Promise<MetricsProbeResult> {
  return new Promise((resolveProbe, reject) => {
    const child = fork(join(__dirname, 'metrics-cost.probe.js'), [String(tenants)], {
      execArgv: ['--enable-source-maps'],
      env: { PATH: process.env.PATH, NODE_ENV: 'production', TZ: 'UTC' },
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the /metrics probe did not finish within 120 s'));
    }, 120_000);
    child.once('message', (result) => {
      clearTimeout(timer);
      resolveProbe(result as MetricsProbeResult);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the /metrics probe exited with code ${code}`));
    });
  });
}

function profileReport(mode: ModeName, file: string): string {
  const summary = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, 25);
  const rows = (entries: typeof summary.frames): string =>
    entries
      .map(
        (entry) =>
          `| ${entry.name} | ${fixed(entry.selfMs, 0)} | ${(entry.share * 100).toFixed(1)}% |`,
      )
      .join('\n');
  return [
    `## CPU profile of ${mode}`,
    `\`node --cpu-prof\` on the app for the whole mode (start-up, warm-ups, both endpoints): ${fixed(summary.totalMs / 1000, 1)} s sampled. ` +
      `Profile: \`bench/results/${mode}.cpuprofile\` (open in Chrome DevTools).`,
    '### Self time by owner',
    '| owner | self ms | share |\n| --- | --- | --- |\n' + rows(summary.owners.slice(0, 15)),
    '### Top frames by self time',
    '| frame | self ms | share |\n| --- | --- | --- |\n' + rows(summary.frames),
  ].join('\n\n');
}

main()
  .catch((error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
