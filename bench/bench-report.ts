import type { ModeName } from './bench-modes';
import type { LoadResult } from './load';

/** What bench/metrics-cost.probe.ts measures in a process of its own. */
export interface MetricsProbeResult {
  readonly tenants: number;
  readonly renderMs: number;
  readonly renderOpenMetricsMs: number;
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
  /** `bare`, `bare (repeat)`, `full-10`, ... */
  readonly label: string;
  readonly description: string;
  readonly results: Record<EndpointKey, LoadResult>;
  /** RSS right after start-up and at the end of the mode's last measurement, in MiB. */
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  /** Spans the local OTLP receiver got from this mode (undefined: the mode does not export). */
  readonly spansReceived: number | undefined;
}

export interface BenchSettings {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly cpus: number;
  readonly node: string;
  readonly startedAt: string;
  readonly totalSeconds: number;
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

/** SPEC 11's thresholds. */
export const TARGETS = {
  full10MinRatio: 0.85,
  full100MinRatio: 0.7,
  metricsRenderMaxMs: 25,
  collectorDownMinRatioToFull10: 0.95,
  collectorDownMaxRssGrowth: 0.1,
} as const;

/** The bare baseline of one endpoint: mean of the bare runs, and their spread ((max - min) / mean). */
export function baseline(
  runs: readonly ModeRun[],
  endpoint: EndpointKey,
): { mean: number; spread: number } {
  const values = runs
    .filter((run) => run.mode === 'bare')
    .map((run) => run.results[endpoint].requestsPerSecond);
  if (values.length === 0) return { mean: NaN, spread: NaN };
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return { mean, spread: (Math.max(...values) - Math.min(...values)) / mean };
}

export function ratio(value: number, reference: number): number {
  return reference > 0 ? value / reference : NaN;
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

/** The mode's run for a target check; the last one when a mode ran twice. */
function find(runs: readonly ModeRun[], mode: ModeName): ModeRun | undefined {
  return runs.filter((run) => run.mode === mode).at(-1);
}

export function checkTargets(
  runs: readonly ModeRun[],
  metrics: MetricsProbeResult | undefined,
): TargetCheck[] {
  const bareInfo = baseline(runs, 'info').mean;
  const checks: TargetCheck[] = [];
  const throughputCheck = (mode: ModeName, min: number): void => {
    const run = find(runs, mode);
    const value = run ? ratio(run.results.info.requestsPerSecond, bareInfo) : NaN;
    checks.push({
      target: `${mode}: /v1/info throughput >= ${percent(min)} of bare`,
      measured: run ? percent(value, 1) : 'not run',
      pass: run ? value >= min : undefined,
    });
  };
  throughputCheck('full-10', TARGETS.full10MinRatio);
  throughputCheck('full-100', TARGETS.full100MinRatio);

  checks.push({
    target: `/metrics render < ${TARGETS.metricsRenderMaxMs} ms with ${metrics?.tenants ?? 1000} tenants`,
    measured: metrics ? `${fixed(metrics.renderMs, 2)} ms` : 'not run',
    pass: metrics ? metrics.renderMs < TARGETS.metricsRenderMaxMs : undefined,
  });

  const full10 = find(runs, 'full-10');
  const down = find(runs, 'collector-down');
  for (const endpoint of ['info', 'runs'] as const) {
    const value =
      full10 && down
        ? ratio(
            down.results[endpoint].requestsPerSecond,
            full10.results[endpoint].requestsPerSecond,
          )
        : NaN;
    checks.push({
      target: `collector-down: ${endpoint === 'info' ? '/v1/info' : 'runs'} throughput within ${percent(1 - TARGETS.collectorDownMinRatioToFull10)} of full-10`,
      measured: full10 && down ? `${percent(value, 1)} of full-10` : 'not run',
      pass: full10 && down ? value >= TARGETS.collectorDownMinRatioToFull10 : undefined,
    });
  }
  const growth = full10 && down ? ratio(down.rssEndMiB, full10.rssEndMiB) - 1 : NaN;
  checks.push({
    target: `collector-down: RSS flat (end RSS <= full-10's + ${percent(TARGETS.collectorDownMaxRssGrowth)})`,
    measured:
      full10 && down
        ? `${fixed(down.rssStartMiB, 0)} → ${fixed(down.rssEndMiB, 0)} MiB (full-10: ${fixed(full10.rssStartMiB, 0)} → ${fixed(full10.rssEndMiB, 0)} MiB)`
        : 'not run',
    pass: full10 && down ? growth <= TARGETS.collectorDownMaxRssGrowth : undefined,
  });
  return checks;
}

function verdict(pass: boolean | undefined): string {
  if (pass === undefined) return 'n/a';
  return pass ? '**PASS**' : '**FAIL**';
}

export function endpointTable(runs: readonly ModeRun[], endpoint: EndpointKey): string {
  const bare = baseline(runs, endpoint);
  const bareCpu = meanOf(
    runs
      .filter((run) => run.mode === 'bare')
      .map((run) => run.results[endpoint].cpuMicrosPerRequest),
  );
  return markdownTable(
    [
      'mode',
      'req/s',
      'vs bare',
      'p50 ms',
      'p99 ms',
      'app CPU µs/req',
      'CPU vs bare',
      'failed',
      'RSS MiB before → after',
    ],
    runs.map((run) => {
      const result = run.results[endpoint];
      return [
        run.label,
        fixed(result.requestsPerSecond, 0),
        run.mode === 'bare' ? '(baseline)' : percent(ratio(result.requestsPerSecond, bare.mean), 1),
        fixed(result.latencyP50Ms, 0),
        fixed(result.latencyP99Ms, 0),
        fixed(result.cpuMicrosPerRequest, 0),
        run.mode === 'bare'
          ? '(baseline)'
          : `${fixed(ratio(result.cpuMicrosPerRequest, bareCpu), 2)}×`,
        String(result.failed),
        `${fixed(result.rssBeforeMiB, 0)} → ${fixed(result.rssAfterMiB, 0)}`,
      ];
    }),
  );
}

function meanOf(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((sum, value) => sum + value, 0) / values.length : NaN;
}

export interface ReportInput {
  readonly settings: BenchSettings;
  readonly runs: readonly ModeRun[];
  readonly metrics: MetricsProbeResult | undefined;
  readonly profile?: string;
}

/** The whole markdown report: settings, one table per endpoint, /metrics cost, targets. */
export function renderReport(input: ReportInput): string {
  const { settings, runs, metrics } = input;
  const sections: string[] = [];
  sections.push(
    '# Benchmark results',
    `Run ${settings.startedAt} on ${settings.cpus} CPUs, Node ${settings.node}; ` +
      `${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per endpoint and mode; ` +
      `whole run ${fixed(settings.totalSeconds, 0)} s. autocannon runs in the bench process, the app in its own child ` +
      'process (the built app, as `npm run start:prod` starts it), on the same cores. Real PostgreSQL and Redis.',
    markdownTable(
      ['mode', 'configuration'],
      uniqueModes(runs).map((run) => [run.mode, run.description]),
    ),
  );
  for (const endpoint of ['info', 'runs'] as const) {
    const bare = baseline(runs, endpoint);
    sections.push(
      `## ${ENDPOINT_TITLES[endpoint]}`,
      endpointTable(runs, endpoint),
      `Bare baseline ${fixed(bare.mean, 0)} req/s (mean of ${runs.filter((run) => run.mode === 'bare').length} bare runs; spread between them ${percent(bare.spread, 1)}: differences smaller than that are noise).`,
    );
  }
  const spanRows = runs
    .filter((run) => run.spansReceived !== undefined)
    .map((run) => {
      const requests = run.results.info.completed + run.results.runs.completed;
      return [
        run.label,
        String(run.spansReceived),
        fixed((run.spansReceived ?? 0) / Math.max(1, requests), 2),
      ];
    });
  if (spanRows.length > 0) {
    sections.push(
      '## Spans received by the local OTLP receiver',
      markdownTable(
        ['mode', 'spans', 'spans per request (warm-up included in spans only)'],
        spanRows,
      ),
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
    '## SPEC 11 targets',
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

function uniqueModes(runs: readonly ModeRun[]): ModeRun[] {
  const seen = new Set<ModeName>();
  return runs.filter((run) => !seen.has(run.mode) && seen.add(run.mode));
}
