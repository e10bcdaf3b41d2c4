import type { EndpointKey, ModeName } from './bench-modes';
import { RSS_SAMPLE_INTERVAL_MS, type LoadResult } from './load';

export type { EndpointKey } from './bench-modes';

/** What bench/metrics-cost.probe.ts measures in a process of its own. */
export interface MetricsProbeResult {
  readonly tenants: number;
  readonly renderMs: number;
  readonly renderOpenMetricsMs: number;
  /** Median CPU time (user + system) of a Prometheus render, in ms. */
  readonly renderCpuMs: number;
  readonly renderLines: number;
  readonly recordRequestMicros: number;
  /** Event-loop delay p99 with nothing running, in ms. */
  readonly idleLoopDelayP99Ms: number;
  /** Event-loop delay p99 and max while the registry is rendered back to back, in ms. */
  readonly scrapeLoopDelayP99Ms: number;
  readonly scrapeLoopDelayMaxMs: number;
  readonly scrapesInLoop: number;
  /** p99 of the render times in that loop, in ms. */
  readonly scrapeLoopRenderP99Ms: number;
}

export const ENDPOINT_TITLES: Record<EndpointKey, string> = {
  info: '`GET /v1/info` (cheap endpoint)',
  runs: '`POST /v1/agents/:id/runs` (2 model calls + 1 tool, simulator at 0 ms)',
};

export interface ModeRun {
  readonly mode: ModeName;
  /** The mode's name, marked when it ran under the profiler. */
  readonly label: string;
  readonly description: string;
  /** One measurement per round, in round order; none on an endpoint the mode is not measured on. */
  readonly rounds: Record<EndpointKey, readonly LoadResult[]>;
  /** RSS right after start-up and at the end of the mode's last measurement, in MiB. */
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  /** Spans the mode's OTLP receiver got (undefined: the mode does not export to one). */
  readonly spansReceived: number | undefined;
  /** Requests the app answered in all, warm-ups included (the denominator for spans). */
  readonly requestsServed: number;
}

export interface EndpointSummary {
  /** Median over the rounds. */
  readonly requestsPerSecond: number;
  readonly minRequestsPerSecond: number;
  readonly maxRequestsPerSecond: number;
  /** Medians over the rounds. */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** App CPU over all rounds divided by the requests of all rounds. */
  readonly cpuMicrosPerRequest: number;
  readonly completed: number;
  readonly failed: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  /** The highest RSS sampled during the measured windows of all rounds. */
  readonly rssMaxMiB: number;
}

export interface BenchSettings {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly rounds: number;
  /** `model name` from /proc/cpuinfo. */
  readonly cpuModel: string;
  /** Cores the bench could use (os.availableParallelism()). */
  readonly cpus: number;
  readonly node: string;
  readonly startedAt: string;
  readonly totalSeconds: number;
  /** 1-minute load averages when the bench started and ended: other work on the machine. */
  readonly loadAverageStart: number;
  readonly loadAverageEnd: number;
}

/** One `GET /v1/info` answer as it went over the socket. */
export interface ResponseSize {
  readonly mode: ModeName;
  /** Status line and headers, the blank line included. */
  readonly headBytes: number;
  readonly bodyBytes: number;
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

/** The performance targets (docs/performance.md#targets). */
export const TARGETS = {
  full10MinRatio: 0.85,
  full100MinRatio: 0.7,
  /** App CPU per agent run, as a multiple of bare's. */
  full10MaxRunCpuRatio: 1.05,
  full100MaxRunCpuRatio: 1.2,
  /** What the platform's hooks may cost with observability off, over plain NestJS, on /v1/info. */
  bareOverPlainMaxMicros: 1,
  /** full-10's highest RSS under load over bare's. */
  full10MaxRssOverBareMiB: 40,
  metricsRenderMaxMs: 10,
  collectorDownMinRatioToFull10: 0.95,
  collectorDownMaxRssGrowth: 0.1,
} as const;

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function summariseRounds(results: readonly LoadResult[]): EndpointSummary {
  const rates = results.map((result) => result.requestsPerSecond);
  const completed = results.reduce((sum, result) => sum + result.completed, 0);
  const cpuMicros = results.reduce(
    (sum, result) => sum + result.cpuMicrosPerRequest * result.completed,
    0,
  );
  return {
    requestsPerSecond: median(rates),
    minRequestsPerSecond: Math.min(...rates),
    maxRequestsPerSecond: Math.max(...rates),
    latencyP50Ms: median(results.map((result) => result.latencyP50Ms)),
    latencyP99Ms: median(results.map((result) => result.latencyP99Ms)),
    cpuMicrosPerRequest: completed > 0 ? cpuMicros / completed : NaN,
    completed,
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    rssBeforeMiB: results[0]?.rssBeforeMiB ?? NaN,
    rssAfterMiB: results.at(-1)?.rssAfterMiB ?? NaN,
    rssMaxMiB: results.length > 0 ? Math.max(...results.map((result) => result.rssMaxMiB)) : NaN,
  };
}

/** The highest RSS sampled while the mode was under measured load, on any endpoint and round. */
export function maxRssMiB(run: ModeRun): number {
  const all = [...run.rounds.info, ...run.rounds.runs];
  return all.length > 0 ? Math.max(...all.map((result) => result.rssMaxMiB)) : NaN;
}

/** App CPU per request of `run` as a multiple of `reference`'s (1.1: 10% more CPU per request). */
export function cpuRatio(run: ModeRun, reference: ModeRun, endpoint: EndpointKey): number {
  return ratio(
    summariseRounds(run.rounds[endpoint]).cpuMicrosPerRequest,
    summariseRounds(reference.rounds[endpoint]).cpuMicrosPerRequest,
  );
}

/** CPU µs per request of `run` minus `reference`'s, over all rounds and round by round. */
export function cpuDifference(
  run: ModeRun,
  reference: ModeRun,
  endpoint: EndpointKey,
): { readonly micros: number; readonly perRound: readonly number[] } {
  const mine = run.rounds[endpoint];
  const theirs = reference.rounds[endpoint];
  const perRound: number[] = [];
  for (let i = 0; i < Math.min(mine.length, theirs.length); i++) {
    perRound.push(mine[i].cpuMicrosPerRequest - theirs[i].cpuMicrosPerRequest);
  }
  return {
    micros: summariseRounds(mine).cpuMicrosPerRequest - summariseRounds(theirs).cpuMicrosPerRequest,
    perRound,
  };
}

export function ratio(value: number, reference: number): number {
  return reference > 0 ? value / reference : NaN;
}

/**
 * Throughput of `run` relative to `reference`, round by round (the two were
 * measured seconds apart, under the same background load), then the median:
 * drift of the machine over the whole bench cancels out.
 */
export function pairedThroughputRatio(
  run: ModeRun,
  reference: ModeRun,
  endpoint: EndpointKey,
): number {
  const mine = run.rounds[endpoint];
  const theirs = reference.rounds[endpoint];
  const count = Math.min(mine.length, theirs.length);
  const ratios: number[] = [];
  for (let i = 0; i < count; i++) {
    ratios.push(ratio(mine[i].requestsPerSecond, theirs[i].requestsPerSecond));
  }
  return median(ratios);
}

/**
 * The throughput ratio the app's own CPU cost implies (bare CPU per request
 * over this mode's): what the ratio would be if the app had the cores to itself.
 */
export function cpuImpliedRatio(run: ModeRun, reference: ModeRun, endpoint: EndpointKey): number {
  return ratio(
    summariseRounds(reference.rounds[endpoint]).cpuMicrosPerRequest,
    summariseRounds(run.rounds[endpoint]).cpuMicrosPerRequest,
  );
}

/** (max - min) / median of the bare mode's rounds: below it, a difference is noise. */
export function bareSpread(runs: readonly ModeRun[], endpoint: EndpointKey): number {
  const bare = find(runs, 'bare');
  if (!bare) return NaN;
  const summary = summariseRounds(bare.rounds[endpoint]);
  return ratio(
    summary.maxRequestsPerSecond - summary.minRequestsPerSecond,
    summary.requestsPerSecond,
  );
}

export function percent(value: number, digits = 0): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : 'n/a';
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** A GitHub-flavoured markdown table; cells are used as given. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function find(runs: readonly ModeRun[], mode: ModeName): ModeRun | undefined {
  return runs.find((run) => run.mode === mode);
}

/** "bare 17186 req/s, 50.0 µs/req": the reference's own cost, beside every ratio. */
function cost(run: ModeRun, endpoint: EndpointKey): string {
  const summary = summariseRounds(run.rounds[endpoint]);
  const unit = endpoint === 'info' ? 'req' : 'run';
  return `${run.mode} ${fixed(summary.requestsPerSecond, 0)} ${unit}/s, ${fixed(summary.cpuMicrosPerRequest, 1)} µs/${unit}`;
}

const NOT_RUN = { measured: 'not run', pass: undefined } as const;

export function checkTargets(
  runs: readonly ModeRun[],
  metrics: MetricsProbeResult | undefined,
): TargetCheck[] {
  const plain = find(runs, 'plain');
  const bare = find(runs, 'bare');
  const full10 = find(runs, 'full-10');
  const down = find(runs, 'collector-down');
  const checks: TargetCheck[] = [];

  const throughputChecks = (mode: ModeName, min: number): void => {
    const run = find(runs, mode);
    const measured = run && bare ? pairedThroughputRatio(run, bare, 'info') : NaN;
    const implied = run && bare ? cpuImpliedRatio(run, bare, 'info') : NaN;
    checks.push(
      {
        target: `${mode}: /v1/info throughput >= ${percent(min)} of bare`,
        ...(run && bare
          ? { measured: `${percent(measured, 1)} (${cost(bare, 'info')})`, pass: measured >= min }
          : NOT_RUN),
      },
      {
        target: `${mode}: the same, implied by app CPU per request`,
        ...(run && bare
          ? { measured: `${percent(implied, 1)} (${cost(bare, 'info')})`, pass: implied >= min }
          : NOT_RUN),
      },
    );
  };
  throughputChecks('full-10', TARGETS.full10MinRatio);
  throughputChecks('full-100', TARGETS.full100MinRatio);

  for (const [mode, max] of [
    ['full-10', TARGETS.full10MaxRunCpuRatio],
    ['full-100', TARGETS.full100MaxRunCpuRatio],
  ] as const) {
    const run = find(runs, mode);
    const value = run && bare ? cpuRatio(run, bare, 'runs') : NaN;
    checks.push({
      target: `${mode}: app CPU per agent run <= ${fixed(max, 2)}× bare's`,
      ...(run && bare
        ? {
            measured: `${fixed(value, 2)}×: ${fixed(summariseRounds(run.rounds.runs).cpuMicrosPerRequest, 0)} µs/run (${cost(bare, 'runs')})`,
            pass: value <= max,
          }
        : NOT_RUN),
    });
  }

  const overPlain = plain && bare ? cpuDifference(bare, plain, 'info') : undefined;
  checks.push({
    target: `bare over plain NestJS: /v1/info app CPU per request <= +${fixed(TARGETS.bareOverPlainMaxMicros, 0)} µs`,
    ...(overPlain && plain && bare
      ? {
          measured:
            `${signed(overPlain.micros, 2)} µs/req (per round ${overPlain.perRound.map((value) => signed(value, 1)).join(', ')}; ` +
            `${cost(plain, 'info')}; ${cost(bare, 'info')})`,
          pass: overPlain.micros <= TARGETS.bareOverPlainMaxMicros,
        }
      : NOT_RUN),
  });

  const full10Max = full10 ? maxRssMiB(full10) : NaN;
  const bareMax = bare ? maxRssMiB(bare) : NaN;
  checks.push({
    target: `full-10: highest RSS under load <= bare's + ${TARGETS.full10MaxRssOverBareMiB} MiB`,
    ...(full10 && bare
      ? {
          measured: `${signed(full10Max - bareMax)} MiB: ${fixed(full10Max, 0)} MiB (bare ${fixed(bareMax, 0)} MiB)`,
          pass: full10Max <= bareMax + TARGETS.full10MaxRssOverBareMiB,
        }
      : NOT_RUN),
  });

  checks.push(
    {
      target: `/metrics render < ${TARGETS.metricsRenderMaxMs} ms (median) with ${metrics?.tenants ?? 1000} tenants`,
      ...(metrics
        ? {
            measured: `${fixed(metrics.renderMs, 2)} ms`,
            pass: metrics.renderMs < TARGETS.metricsRenderMaxMs,
          }
        : NOT_RUN),
    },
    {
      target: '/metrics: the same, in CPU time of the render',
      ...(metrics
        ? {
            measured: `${fixed(metrics.renderCpuMs, 2)} ms`,
            pass: metrics.renderCpuMs < TARGETS.metricsRenderMaxMs,
          }
        : NOT_RUN),
    },
  );

  for (const endpoint of ['info', 'runs'] as const) {
    const both = full10 && down ? { full10, down } : undefined;
    const value = both ? pairedThroughputRatio(both.down, both.full10, endpoint) : NaN;
    const implied = both ? cpuImpliedRatio(both.down, both.full10, endpoint) : NaN;
    const beside = both
      ? `${cost(both.full10, endpoint)}${bare ? `; ${cost(bare, endpoint)}` : ''}`
      : '';
    checks.push(
      {
        target: `collector-down: ${endpoint === 'info' ? '/v1/info' : 'runs'} throughput within ${percent(1 - TARGETS.collectorDownMinRatioToFull10)} of full-10`,
        ...(both
          ? {
              measured: `${percent(value, 1)} of full-10 (${beside})`,
              pass: value >= TARGETS.collectorDownMinRatioToFull10,
            }
          : NOT_RUN),
      },
      {
        target: `collector-down: the same, implied by app CPU per request`,
        ...(both
          ? {
              measured: `${percent(implied, 1)} of full-10 (${beside})`,
              pass: implied >= TARGETS.collectorDownMinRatioToFull10,
            }
          : NOT_RUN),
      },
    );
  }
  const downGrowth = down ? rssGrowthMiB(down) : NaN;
  const full10Growth = full10 ? rssGrowthMiB(full10) : NaN;
  const allowance = full10 ? full10.rssEndMiB * TARGETS.collectorDownMaxRssGrowth : NaN;
  checks.push({
    target: `collector-down: RSS flat (growth after round 1 <= full-10's + ${percent(TARGETS.collectorDownMaxRssGrowth)} of its RSS)`,
    ...(full10 && down
      ? {
          measured: `${signed(downGrowth)} MiB to ${fixed(down.rssEndMiB, 0)} MiB (full-10: ${signed(full10Growth)} MiB to ${fixed(full10.rssEndMiB, 0)} MiB)`,
          pass: downGrowth <= full10Growth + allowance,
        }
      : NOT_RUN),
  });
  return checks;
}

/**
 * RSS growth from the end of the first round to the end (the first round
 * grows every app's heap to its working size), or over the whole run with one round.
 */
export function rssGrowthMiB(run: ModeRun): number {
  const rounds = run.rounds.runs;
  const from = rounds.length > 1 ? rounds[0].rssAfterMiB : run.rssStartMiB;
  return run.rssEndMiB - from;
}

function signed(value: number, digits = 0): string {
  return `${value >= 0 ? '+' : ''}${fixed(value, digits)}`;
}

function verdict(pass: boolean | undefined): string {
  if (pass === undefined) return 'n/a';
  return pass ? '**PASS**' : '**FAIL**';
}

export function endpointTable(runs: readonly ModeRun[], endpoint: EndpointKey): string {
  const bare = find(runs, 'bare');
  return markdownTable(
    [
      'mode',
      'req/s (median)',
      'range over rounds',
      'vs bare',
      'p50 ms',
      'p99 ms',
      'app CPU µs/req',
      'vs bare, implied by CPU',
      'failed',
      'RSS MiB before → after (max)',
    ],
    runs
      .filter((run) => run.rounds[endpoint].length > 0)
      .map((run) => {
        const summary = summariseRounds(run.rounds[endpoint]);
        const isBare = run.mode === 'bare';
        return [
          run.label,
          fixed(summary.requestsPerSecond, 0),
          `${fixed(summary.minRequestsPerSecond, 0)}–${fixed(summary.maxRequestsPerSecond, 0)}`,
          isBare || !bare ? '(baseline)' : percent(pairedThroughputRatio(run, bare, endpoint), 1),
          fixed(summary.latencyP50Ms, 0),
          fixed(summary.latencyP99Ms, 0),
          fixed(summary.cpuMicrosPerRequest, 0),
          isBare || !bare ? '(baseline)' : percent(cpuImpliedRatio(run, bare, endpoint), 1),
          String(summary.failed),
          `${fixed(summary.rssBeforeMiB, 0)} → ${fixed(summary.rssAfterMiB, 0)} (${fixed(summary.rssMaxMiB, 0)})`,
        ];
      }),
  );
}

export interface ReportInput {
  readonly settings: BenchSettings;
  readonly runs: readonly ModeRun[];
  readonly metrics: MetricsProbeResult | undefined;
  /** One /v1/info answer of bare and of plain, as written to the socket. */
  readonly infoResponses?: readonly ResponseSize[];
  readonly profile?: string;
}

/** Where each process of the bench runs; nothing is pinned to a core. */
const PROCESSES: readonly (readonly [string, string])[] = [
  [
    'bench (`dist/bench/run.js`)',
    `LLM simulator (0 ms), OTLP/gRPC span-counting receivers, sampling of each app's CPU (/proc/<pid>/stat) around every measured window and its RSS (VmRSS) every ${RSS_SAMPLE_INTERVAL_MS} ms within it`,
  ],
  [
    'load worker (`dist/bench/load-worker.js`, forked)',
    'autocannon: the warm-up and the measured window are two separate loads, so the bench samples the app exactly at the ends of the measured one',
  ],
  [
    "one child per mode's app",
    'platform modes: the built app started as `npm run start:prod` starts it; plain: `dist/bench/plain-app.js`',
  ],
  ['/metrics probe (`dist/bench/metrics-cost.probe.js`)', 'before any app starts, alone'],
  [
    'PostgreSQL, Redis',
    'the shared servers of this machine (a database and key prefix of its own)',
  ],
];

/** The whole markdown report: settings, one table per endpoint, spans, /metrics cost, targets. */
export function renderReport(input: ReportInput): string {
  const { settings, runs, metrics } = input;
  const sections: string[] = [];
  sections.push(
    '# Benchmark results',
    markdownTable(
      ['setting', 'value'],
      [
        ['date', settings.startedAt],
        ['CPU', `${settings.cpuModel}, ${settings.cpus} cores`],
        [
          '1-minute load average',
          `${fixed(settings.loadAverageStart, 2)} at the start, ${fixed(settings.loadAverageEnd, 2)} at the end`,
        ],
        ['Node', settings.node],
        [
          'load',
          `${settings.connections} connections; ${settings.rounds} interleaved ${settings.rounds === 1 ? 'round' : 'rounds'} of ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per mode and endpoint`,
        ],
        ['whole run', `${fixed(settings.totalSeconds, 0)} s`],
      ],
    ),
    'Every process shares the same cores:',
    markdownTable(['process', 'what runs there'], PROCESSES),
    markdownTable(
      ['mode', 'configuration'],
      runs.map((run) => [run.mode, run.description]),
    ),
    ...(input.infoResponses && input.infoResponses.length > 0
      ? [
          'One `GET /v1/info` answer as written to the socket: ' +
            input.infoResponses
              .map(
                (response) =>
                  `${response.mode} ${response.headBytes} B of status line and headers + ${response.bodyBytes} B of body`,
              )
              .join('; ') +
            '.',
        ]
      : []),
  );
  for (const endpoint of ['info', 'runs'] as const) {
    const failed = runs.filter((run) => summariseRounds(run.rounds[endpoint]).failed > 0);
    sections.push(
      `## ${ENDPOINT_TITLES[endpoint]}`,
      endpointTable(runs, endpoint),
      ...(failed.length > 0
        ? [
            `**Warning:** requests failed in ${failed.map((run) => run.mode).join(', ')} ` +
              '(errors, timeouts or non-2xx answers): those numbers are not comparable; see the app logs.',
          ]
        : []),
      `"vs bare" is the median over rounds of this mode's throughput over bare's in the same round. ` +
        (settings.rounds > 1
          ? `Bare's own rounds spread over ${percent(bareSpread(runs, endpoint), 1)} of its median: throughput differences smaller than that are noise; `
          : 'With one round there is no noise floor: run several before trusting a throughput difference; ') +
        'app CPU per request is much less sensitive to the other load on the machine.',
    );
  }
  const spanRows = runs
    .filter((run) => run.spansReceived !== undefined)
    .map((run) => [
      run.label,
      String(run.spansReceived),
      fixed((run.spansReceived ?? 0) / Math.max(1, run.requestsServed), 2),
    ]);
  if (spanRows.length > 0) {
    sections.push(
      '## Spans received by the local OTLP receiver',
      markdownTable(['mode', 'spans', 'spans per request served (both endpoints)'], spanRows),
    );
  }
  if (metrics) {
    sections.push(
      `## /metrics with ${metrics.tenants} tenants' budget series`,
      markdownTable(
        ['measure', 'value'],
        [
          [
            'render, Prometheus text (median)',
            `${fixed(metrics.renderMs, 2)} ms (${metrics.renderLines} lines)`,
          ],
          ['render, Prometheus text, CPU time (median)', `${fixed(metrics.renderCpuMs, 2)} ms`],
          ['render, OpenMetrics (median)', `${fixed(metrics.renderOpenMetricsMs, 2)} ms`],
          ['event-loop delay p99, idle', `${fixed(metrics.idleLoopDelayP99Ms, 2)} ms`],
          [
            'event-loop delay p99 / max while rendering back to back',
            `${fixed(metrics.scrapeLoopDelayP99Ms, 2)} / ${fixed(metrics.scrapeLoopDelayMaxMs, 2)} ms (${metrics.scrapesInLoop} scrapes in 3 s)`,
          ],
          ['render p99 in that loop', `${fixed(metrics.scrapeLoopRenderP99Ms, 2)} ms`],
          ['HTTP metrics recorded per request', `${fixed(metrics.recordRequestMicros, 2)} µs`],
        ],
      ),
    );
  }
  sections.push(
    '## Targets',
    markdownTable(
      ['target', 'measured', 'verdict'],
      checkTargets(runs, metrics).map((check) => [
        check.target,
        check.measured,
        verdict(check.pass),
      ]),
    ),
  );
  if (input.profile) sections.push(input.profile);
  return `${sections.join('\n\n')}\n`;
}
