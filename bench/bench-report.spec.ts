import type { ModeName } from './bench-modes';
import {
  baseline,
  checkTargets,
  markdownTable,
  percent,
  ratio,
  renderReport,
  type MetricsProbeResult,
  type ModeRun,
} from './bench-report';
import type { LoadResult } from './load';

function load(requestsPerSecond: number, overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    requestsPerSecond,
    latencyP50Ms: 1,
    latencyP99Ms: 4,
    completed: requestsPerSecond * 8,
    failed: 0,
    cpuMicrosPerRequest: 1_000_000 / requestsPerSecond,
    rssBeforeMiB: 100,
    rssAfterMiB: 110,
    ...overrides,
  };
}

function run(mode: ModeName, info: number, runs = 200, rssEndMiB = 120, label: string = mode): ModeRun {
  return {
    mode,
    label,
    description: `${mode} description`,
    results: { info: load(info), runs: load(runs) },
    rssStartMiB: 100,
    rssEndMiB,
    spansReceived: mode.startsWith('full') ? 1000 : undefined,
  };
}

const metrics: MetricsProbeResult = {
  tenants: 1000,
  renderMs: 11.2,
  renderOpenMetricsMs: 12.5,
  renderLines: 6300,
  recordRequestMicros: 0.9,
  idleLoopDelayP99Ms: 1.1,
  scrapeLoopDelayP99Ms: 12,
  scrapeLoopDelayMaxMs: 15,
  scrapesInLoop: 250,
  scrapeLoopRenderP99Ms: 13,
};

describe('bench report', () => {
  it('takes the mean of the bare runs as the baseline and reports their spread', () => {
    const runs = [run('bare', 20_000), run('metrics', 18_000), run('bare', 18_000, 200, 120, 'bare (repeat)')];

    expect(baseline(runs, 'info')).toEqual({ mean: 19_000, spread: 2_000 / 19_000 });
  });

  it('answers NaN, shown as n/a, for a ratio against nothing', () => {
    expect(ratio(10, 0)).toBeNaN();
    expect(percent(ratio(10, 0))).toBe('n/a');
    expect(percent(0.8571, 1)).toBe('85.7%');
  });

  it('renders a markdown table with a separator row', () => {
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
  });

  it('passes the throughput targets at their thresholds and fails below them', () => {
    const checks = checkTargets(
      [run('bare', 10_000), run('full-10', 8_500), run('full-100', 6_999)],
      metrics,
    );

    expect(checks.find((check) => check.target.startsWith('full-10'))?.pass).toBe(true);
    expect(checks.find((check) => check.target.startsWith('full-100'))?.pass).toBe(false);
    expect(checks.find((check) => check.target.startsWith('/metrics'))?.pass).toBe(true);
  });

  it('compares collector-down with full-10, not with bare', () => {
    const checks = checkTargets(
      [run('bare', 20_000), run('full-10', 10_000, 200, 200), run('collector-down', 9_600, 150, 230)],
      metrics,
    ).filter((check) => check.target.startsWith('collector-down'));

    expect(checks.map((check) => check.pass)).toEqual([true, false, false]);
  });

  it('leaves targets of modes that did not run undecided', () => {
    const checks = checkTargets([run('bare', 10_000)], undefined);

    expect(checks.every((check) => check.pass === undefined)).toBe(true);
  });

  it('prints PASS and FAIL per target in the report', () => {
    const report = renderReport({
      settings: {
        durationSeconds: 8,
        warmupSeconds: 2,
        connections: 32,
        cpus: 2,
        node: '24.0.0',
        startedAt: '2026-01-01T00:00:00.000Z',
        totalSeconds: 200,
      },
      runs: [run('bare', 10_000), run('full-10', 9_000), run('full-100', 6_000)],
      metrics,
    });

    expect(report).toContain('| full-10: /v1/info throughput >= 85% of bare | 90.0% | **PASS** |');
    expect(report).toContain('| full-100: /v1/info throughput >= 70% of bare | 60.0% | **FAIL** |');
    expect(report).toContain('| full-10 | 9000 | 90.0% |');
  });
});
