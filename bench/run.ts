// `npm run bench`: what the observability layers cost, measured against the same app
// with them off. Method and latest results: docs/performance.md.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Env } from '../src/config';
import { startLlmSimulator, type LlmSimulator } from '../tools/llm-simulator';
import {
  freePort,
  getRaw,
  killBenchApps,
  REPO_ROOT,
  startBenchApp,
  type BenchApp,
} from './bench-app';
import { benchMode, MODE_NAMES, type BenchMode, type ModeName } from './bench-modes';
import { BenchUsageError, parseBenchOptions, USAGE, type BenchOptions } from './bench-options';
import {
  checkTargets,
  fixed,
  markdownTable,
  percent,
  renderReport,
  type EndpointKey,
  type MetricsProbeResult,
  type ModeRun,
  type ResponseSize,
} from './bench-report';
import {
  benchKeyPrefix,
  BENCH_REDIS_URL,
  createBenchDatabase,
  deleteRedisKeys,
  type BenchDatabase,
} from './bench-stores';
import { summariseProfile, type CpuProfile, type ProfileSummary } from './cpu-profile';
import {
  killLoadWorkers,
  measureLoad,
  startLoadWorker,
  type LoadResult,
  type LoadTarget,
  type LoadWorker,
} from './load';
import { startOtlpSpanCounter, type OtlpSpanCounter } from './otlp-span-counter';

const ADMIN_API_KEY = 'bench-admin-key-0123456789abcdef';
/** Two model calls and one calculator call per run with the simulator's scripted model. */
const RUN_INPUT = 'What is (2+3)*4?';
const HUGE_BUDGET = 1_000_000_000_000;

interface Resources {
  loadWorker?: LoadWorker;
  simulator?: LlmSimulator;
  receivers: OtlpSpanCounter[];
  database?: BenchDatabase;
  keyPrefix?: string;
  workDir?: string;
}

const resources: Resources = { receivers: [] };
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Idempotent: called at the end, on failure and on Ctrl-C. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    killLoadWorkers();
    killBenchApps();
    const steps: [string, () => unknown][] = [
      ['LLM simulator', () => resources.simulator?.close()],
      ['OTLP receivers', () => Promise.all(resources.receivers.map((receiver) => receiver.stop()))],
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
      process.exit(error.message === USAGE ? 0 : 2);
    }
    throw error;
  }
  // A child started while the clean-up was already running is still killed on the way out.
  process.once('exit', () => {
    killLoadWorkers();
    killBenchApps();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      log(`${signal}: stopping the apps and cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  const started = Date.now();
  const loadAverageStart = loadavg()[0];
  log(`measuring /metrics with ${options.tenants} tenants (separate process)`);
  const metrics = await runMetricsProbe(options.tenants);

  const worker = await startLoadWorker();
  resources.loadWorker = worker;
  log(`load worker (autocannon) started, pid ${worker.pid}`);

  resources.workDir = mkdtempSync(join(tmpdir(), 'eap-bench-'));
  resources.simulator = await startLlmSimulator({
    latencyMs: 0,
    host: '127.0.0.1',
    port: 0,
    maxRecordedRequests: 10,
  });
  resources.database = await createBenchDatabase();
  resources.keyPrefix = benchKeyPrefix();
  const otlpUnreachable = `http://127.0.0.1:${await freePort()}`;
  const commonEnv: Env = {
    NODE_ENV: 'production',
    TZ: 'UTC',
    DATABASE_URL: resources.database.url,
    REDIS_URL: BENCH_REDIS_URL,
    REDIS_KEY_PREFIX: resources.keyPrefix,
    LLM_PROXY_URL: resources.simulator.url,
    ADMIN_API_KEY,
    SHUTDOWN_DRAIN_MS: '0',
    // One tenant drives every connection: the bench measures overhead, not the per-tenant limit.
    TENANT_MAX_CONCURRENT_RUNS: '10000',
  };
  log(`database ${resources.database.name}, Redis prefix ${resources.keyPrefix}`);

  // Every mode's app runs for the whole bench, idle while another is measured,
  // so the modes can be measured in interleaved rounds under the same drift.
  // Plain starts last: it answers the body bare answered.
  const live: LiveMode[] = [];
  const infoResponses: ResponseSize[] = [];
  let infoBody: string | undefined;
  for (const name of [...options.modes.filter((name) => name !== 'plain'), 'plain'] as const) {
    const receiver = await startOtlpSpanCounter();
    resources.receivers.push(receiver);
    const mode = benchMode(name, { otlpReceiver: receiver.endpoint, otlpUnreachable, infoBody });
    log(`starting ${name} (${mode.description})`);
    const app = await startBenchApp({
      app: mode.app,
      env: { ...commonEnv, ...mode.env },
      logFile: join(resources.workDir, `${name}.log`),
    });
    if (name === 'bare' || name === 'plain') {
      const response = await infoResponse(app, name);
      infoResponses.push(response.size);
      if (name === 'bare') infoBody = response.body;
      else if (response.body !== infoBody) {
        throw new Error(`plain answered ${response.body} on /v1/info, bare ${infoBody}`);
      }
    }
    live.push({
      mode,
      app,
      receiver,
      rssStartMiB: app.sample().rssMiB,
      targets: mode.endpoints.includes('runs') ? await prepareTargets(app) : { info: INFO_TARGET },
      rounds: { info: [], runs: [] },
    });
  }
  live.sort((a, b) => MODE_NAMES.indexOf(a.mode.name) - MODE_NAMES.indexOf(b.mode.name));

  const load = {
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
  };
  for (let round = 0; round < options.rounds; round++) {
    for (const endpoint of ['info', 'runs'] as const) {
      // Rotated each round so no mode always follows the same neighbour.
      for (const entry of rotate(live, round)) {
        const target = entry.targets[endpoint];
        if (!target) continue;
        const result = await measureLoad(worker, entry.app, target, load);
        entry.rounds[endpoint].push(result);
        log(
          `round ${round + 1}/${options.rounds} ${endpoint.padEnd(4)} ${entry.mode.name.padEnd(14)} ` +
            `${fixed(result.requestsPerSecond, 0).padStart(6)} req/s  p99 ${result.latencyP99Ms} ms  ` +
            `${fixed(result.cpuMicrosPerRequest, 0)} µs CPU/req  RSS max ${fixed(result.rssMaxMiB, 0)} MiB` +
            `${result.failed ? `  ${result.failed} FAILED` : ''}`,
        );
      }
    }
  }

  const runs: ModeRun[] = [];
  for (const entry of live) {
    const rssEndMiB = entry.app.sample().rssMiB;
    // Stopped before the spans are read: shutdown flushes the batch processor's queue.
    await entry.app.stop();
    const all = [...entry.rounds.info, ...entry.rounds.runs];
    runs.push({
      mode: entry.mode.name,
      label: entry.mode.name,
      description: entry.mode.description,
      rounds: entry.rounds,
      rssStartMiB: entry.rssStartMiB,
      rssEndMiB,
      spansReceived: entry.mode.exportsSpans ? entry.receiver.spans : undefined,
      requestsServed: all.reduce((sum, result) => sum + result.served, 0),
    });
  }

  const profiles: ProfiledMode[] = [];
  if (options.profile.length > 0) {
    for (const name of new Set<ModeName>(['bare', ...options.profile])) {
      const receiver = await startOtlpSpanCounter();
      resources.receivers.push(receiver);
      const mode = benchMode(name, { otlpReceiver: receiver.endpoint, otlpUnreachable, infoBody });
      log(`profiling ${name} on /v1/info`);
      profiles.push(
        await profileMode(worker, mode, {
          env: commonEnv,
          logFile: join(resources.workDir, `${name}.profiled.log`),
          durationSeconds: Math.max(options.durationSeconds, 8),
          connections: options.connections,
        }),
      );
    }
  }

  const report = renderReport({
    settings: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      rounds: options.rounds,
      cpuModel: cpuModel(),
      cpus: availableParallelism(),
      node: process.versions.node,
      startedAt: new Date(started).toISOString(),
      totalSeconds: (Date.now() - started) / 1000,
      loadAverageStart,
      loadAverageEnd: loadavg()[0],
    },
    runs,
    metrics,
    infoResponses,
    profile: profiles.length > 0 ? profileReport(profiles) : undefined,
  });
  const output = resolve(REPO_ROOT, options.output);
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, report);
  process.stdout.write(report);
  log(`written to ${output}`);
  const failed = checkTargets(runs, metrics).filter((check) => check.pass === false);
  if (failed.length > 0) log(`${failed.length} target(s) missed: see the report`);
}

interface LiveMode {
  readonly mode: BenchMode;
  readonly app: BenchApp;
  readonly receiver: OtlpSpanCounter;
  readonly rssStartMiB: number;
  /** What the mode is measured on (plain: /v1/info only). */
  readonly targets: Partial<Record<EndpointKey, LoadTarget>>;
  readonly rounds: Record<EndpointKey, LoadResult[]>;
}

const INFO_TARGET: LoadTarget = { label: 'info', method: 'GET', path: '/v1/info' };

/** `model name` from /proc/cpuinfo (what Node reports where the file has none). */
function cpuModel(): string {
  try {
    const line = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (line) return line[1].trim();
  } catch {
    // Not Linux: Node's own reading below.
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

/** Bare's /v1/info body (for plain) and what one answer writes to the socket. */
async function infoResponse(
  app: BenchApp,
  mode: ModeName,
): Promise<{ body: string; size: ResponseSize }> {
  const raw = await getRaw(app.url, INFO_TARGET.path);
  if (!raw.head.startsWith('HTTP/1.1 200')) {
    throw new Error(`${mode} answered /v1/info with\n${raw.head}`);
  }
  return {
    body: raw.body.toString('utf8'),
    size: { mode, headBytes: Buffer.byteLength(raw.head, 'latin1'), bodyBytes: raw.body.length },
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Creates a tenant with a huge budget and a calculator agent, and checks one run end to end. */
async function prepareTargets(app: BenchApp): Promise<Record<EndpointKey, LoadTarget>> {
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
    info: INFO_TARGET,
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

interface ProfiledMode {
  readonly name: ModeName;
  readonly file: string;
  readonly summary: ProfileSummary;
  readonly requests: number;
  /** From /proc during the same load: the CPU the process really used. */
  readonly cpuMicrosPerRequest: number;
}

/**
 * Runs the mode's app alone under `node --cpu-prof`, warms /v1/info up, then
 * loads it for `durationSeconds`; the summary keeps only the samples of that
 * measured load (start-up and warm-up are skipped by time).
 */
async function profileMode(
  worker: LoadWorker,
  mode: BenchMode,
  options: { env: Env; logFile: string; durationSeconds: number; connections: number },
): Promise<ProfiledMode> {
  const dir = join(REPO_ROOT, 'bench/results');
  const fileName = `${mode.name}.cpuprofile`;
  const app = await startBenchApp({
    app: mode.app,
    env: { ...options.env, ...mode.env },
    logFile: options.logFile,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', fileName],
  });
  let result: LoadResult;
  let skipFirstMs: number;
  let untilMs: number;
  try {
    const load = { connections: options.connections, warmupSeconds: 0 };
    await measureLoad(worker, app, INFO_TARGET, { ...load, durationSeconds: 3 });
    skipFirstMs = Date.now() - app.spawnedAt;
    result = await measureLoad(worker, app, INFO_TARGET, {
      ...load,
      durationSeconds: options.durationSeconds,
    });
    untilMs = Date.now() - app.spawnedAt;
  } finally {
    await app.stop();
  }
  const file = join(dir, fileName);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  return {
    name: mode.name,
    file: `bench/results/${fileName}`,
    summary: summariseProfile(profile, { skipFirstMs, untilMs }),
    requests: result.completed,
    cpuMicrosPerRequest: result.cpuMicrosPerRequest,
  };
}

function difference(value: number): string {
  return `${value >= 0 ? '+' : ''}${fixed(value, 2)}`;
}

function profileReport(profiles: readonly ProfiledMode[]): string {
  const perRequest = (ms: number, requests: number): number => (ms * 1000) / requests;
  const bare = profiles.find((profile) => profile.name === 'bare');
  const others = profiles.filter((profile) => profile !== bare);
  const sections = [
    '## CPU profiles on `GET /v1/info`',
    'Each profiled mode ran once more, alone, under `node --cpu-prof`: 3 s of warm-up, then the measured load; ' +
      'only the samples of the measured load are counted (not start-up, warm-up or shutdown). Self time is divided by the requests answered in that time ' +
      "(µs per request; the profiler itself adds some). V8 samples the main thread's wall time: a native frame such as " +
      '`writeUtf8String` (socket write) also absorbs time the thread spent descheduled while the load worker or another process ran, so compare ' +
      'the JavaScript owners, and the /proc CPU row for the total. Profiles: ' +
      profiles.map((profile) => `\`${profile.file}\``).join(', ') +
      ' (git-ignored; open them in Chrome DevTools).',
  ];
  if (bare) {
    for (const profile of others) {
      const owners = new Set([
        ...profile.summary.owners.slice(0, 14).map((owner) => owner.name),
        ...bare.summary.owners.slice(0, 6).map((owner) => owner.name),
      ]);
      const selfOf = (summary: ProfileSummary, owner: string): number =>
        summary.owners.find((entry) => entry.name === owner)?.selfMs ?? 0;
      const rows = [...owners]
        .map((owner) => {
          const mine = perRequest(selfOf(profile.summary, owner), profile.requests);
          const theirs = perRequest(selfOf(bare.summary, owner), bare.requests);
          return { owner, mine, theirs };
        })
        .sort((a, b) => b.mine - b.theirs - (a.mine - a.theirs));
      sections.push(
        `### ${profile.name} vs bare: self µs per request by owner`,
        markdownTable(
          ['owner', 'bare', profile.name, 'difference'],
          [
            ...rows.map((row) => [
              row.owner,
              fixed(row.theirs, 2),
              fixed(row.mine, 2),
              difference(row.mine - row.theirs),
            ]),
            [
              '**all (busy)**',
              fixed(perRequest(bare.summary.busyMs, bare.requests), 2),
              fixed(perRequest(profile.summary.busyMs, profile.requests), 2),
              difference(
                perRequest(profile.summary.busyMs, profile.requests) -
                  perRequest(bare.summary.busyMs, bare.requests),
              ),
            ],
            [
              '**app CPU from /proc (user + system)**',
              fixed(bare.cpuMicrosPerRequest, 2),
              fixed(profile.cpuMicrosPerRequest, 2),
              difference(profile.cpuMicrosPerRequest - bare.cpuMicrosPerRequest),
            ],
          ],
        ),
      );
    }
  }
  for (const profile of profiles) {
    sections.push(
      `### ${profile.name}: top frames by self time`,
      `${profile.requests} requests; ${fixed(perRequest(profile.summary.busyMs, profile.requests), 1)} µs busy (sampled) ` +
        `and ${fixed(profile.cpuMicrosPerRequest, 1)} µs of CPU (/proc) per request.`,
      markdownTable(
        ['frame', 'µs per request', 'share of busy'],
        profile.summary.frames
          .slice(0, 20)
          .map((frame) => [
            frame.name.replaceAll('|', '\\|'),
            fixed(perRequest(frame.selfMs, profile.requests), 2),
            percent(frame.share, 1),
          ]),
      ),
    );
  }
  return sections.join('\n\n');
}

main()
  .catch((error: unknown) => {
    // After Ctrl-C the apps die under the running step: that failure is expected.
    if (interrupted) return;
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
