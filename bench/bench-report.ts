import type { ModeName } from './bench-modes';
import type { LoadResult } from './load';

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

export type EndpointKey = 'info' | 'runs';

export const ENDPOINT_TITLES: Record<EndpointKey, string> = {
  info: '`GET /v1/info` (cheap endpoint)',
  runs: '`POST /v1/agents/:id/runs` (2 model calls + 1 tool, simulator at 0 ms)',
};

export interface ModeRun {
  readonly mode: ModeName;
  /** The mode's name, marked when it ran under the profiler. */
  readonly label: string;
  readonly description: string;
  /** One measurement per round, in round order. */
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
  readonly cpus: number;
  readonly node: string;
  readonly startedAt: string;
  readonly totalSeconds: number;
  /** 1-minute load average when the bench started: other work on the machine. */
  readonly loadAverage: number;
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
  metricsRenderMaxMs: 25,
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

export function checkTargets(
  runs: readonly ModeRun[],
  metrics: MetricsProbeResult | undefined,
): TargetCheck[] {
  const bare = find(runs, 'bare');
  const checks: TargetCheck[] = [];
  const throughputChecks = (mode: ModeName, min: number): void => {
    const run = find(runs, mode);
    const measured = run && bare ? pairedThroughputRatio(run, bare, 'info') : NaN;
    checks.push({
      target: `${mode}: /v1/info throughput >= ${percent(min)} of bare`,
      measured: run ? percent(measured, 1) : 'not run',
      pass: run && bare ? measured >= min : undefined,
    });
    const implied = run && bare ? cpuImpliedRatio(run, bare, 'info') : NaN;
    checks.push({
      target: `${mode}: the same, implied by app CPU per request`,
      measured: run ? percent(implied, 1) : 'not run',
      pass: run && bare ? implied >= min : undefined,
    });
  };
  throughputChecks('full-10', TARGETS.full10MinRatio);
  throughputChecks('full-100', TARGETS.full100MinRatio);

  checks.push({
    target: `/metrics render < ${TARGETS.metricsRenderMaxMs} ms with ${metrics?.tenants ?? 1000} tenants`,
    measured: metrics ? `${fixed(metrics.renderMs, 2)} ms` : 'not run',
    pass: metrics ? metrics.renderMs < TARGETS.metricsRenderMaxMs : undefined,
  });
  checks.push({
    target: '/metrics: the same, in CPU time of the render',
    measured: metrics ? `${fixed(metrics.renderCpuMs, 2)} ms` : 'not run',
    pass: metrics ? metrics.renderCpuMs < TARGETS.metricsRenderMaxMs : undefined,
  });

  const full10 = find(runs, 'full-10');
  const down = find(runs, 'collector-down');
  for (const endpoint of ['info', 'runs'] as const) {
    const value = full10 && down ? pairedThroughputRatio(down, full10, endpoint) : NaN;
    checks.push({
      target: `collector-down: ${endpoint === 'info' ? '/v1/info' : 'runs'} throughput within ${percent(1 - TARGETS.collectorDownMinRatioToFull10)} of full-10`,
      measured: full10 && down ? `${percent(value, 1)} of full-10` : 'not run',
      pass: full10 && down ? value >= TARGETS.collectorDownMinRatioToFull10 : undefined,
    });
    const implied = full10 && down ? cpuImpliedRatio(down, full10, endpoint) : NaN;
    checks.push({
      target: `collector-down: the same, implied by app CPU per request`,
      measured: full10 && down ? `${percent(implied, 1)} of full-10` : 'not run',
      pass: full10 && down ? implied >= TARGETS.collectorDownMinRatioToFull10 : undefined,
    });
  }
  const downGrowth = down ? rssGrowthMiB(down) : NaN;
  const full10Growth = full10 ? rssGrowthMiB(full10) : NaN;
  const allowance = full10 ? full10.rssEndMiB * TARGETS.collectorDownMaxRssGrowth : NaN;
  checks.push({
    target: `collector-down: RSS flat (growth after round 1 <= full-10's + ${percent(TARGETS.collectorDownMaxRssGrowth)} of its RSS)`,
    measured:
      full10 && down
        ? `${signed(downGrowth)} MiB to ${fixed(down.rssEndMiB, 0)} MiB (full-10: ${signed(full10Growth)} MiB to ${fixed(full10.rssEndMiB, 0)} MiB)`
        : 'not run',
    pass: full10 && down ? downGrowth <= full10Growth + allowance : undefined,
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

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${fixed(value, 0)}`;
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
    runs.map((run) => {
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
  readonly profile?: string;
}

/** The whole markdown report: settings, one table per endpoint, spans, /metrics cost, targets. */
export function renderReport(input: ReportInput): string {
  const { settings, runs, metrics } = input;
  const sections: string[] = [];
  sections.push(
    '# Benchmark results',
    `Run ${settings.startedAt} on ${settings.cpus} CPUs (1-minute load average ${fixed(settings.loadAverage, 1)} at the start), Node ${settings.node}; ` +
      `${settings.connections} connections; ${settings.rounds} interleaved rounds of ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per mode and endpoint; ` +
      `whole run ${fixed(settings.totalSeconds, 0)} s. autocannon runs in a load worker forked by the bench; the LLM simulator and the OTLP receivers in the bench process; each mode's app ` +
      'is the built app in its own child process, started as `npm run start:prod` starts it, all on the same cores. Real PostgreSQL and Redis.',
    markdownTable(
      ['mode', 'configuration'],
      runs.map((run) => [run.mode, run.description]),
    ),
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
        `Bare's own rounds spread over ${percent(bareSpread(runs, endpoint), 1)} of its median: throughput differences smaller than that are noise; ` +
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
