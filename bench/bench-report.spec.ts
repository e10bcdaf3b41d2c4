import type { ModeName } from './bench-modes';
import {
  bareSpread,
  checkTargets,
  cpuImpliedRatio,
  markdownTable,
  median,
  pairedThroughputRatio,
  percent,
  ratio,
  renderReport,
  rssGrowthMiB,
  summariseRounds,
  type MetricsProbeResult,
  type ModeRun,
} from './bench-report';
import type { LoadResult } from './load';

function load(requestsPerSecond: number, cpuMicrosPerRequest = 50, rssMaxMiB = 115): LoadResult {
  return {
    requestsPerSecond,
    latencyP50Ms: 1,
    latencyP99Ms: 4,
    completed: requestsPerSecond * 4,
    served: requestsPerSecond * 5,
    failed: 0,
    cpuMicrosPerRequest,
    rssBeforeMiB: 100,
    rssAfterMiB: 110,
    rssMaxMiB,
  };
}

/** A mode measured in rounds at the given /v1/info rates (runs at a tenth of them). */
function mode(
  name: ModeName,
  infoRates: number[],
  options: { cpu?: number; rssEndMiB?: number } = {},
): ModeRun {
  return {
    mode: name,
    label: name,
    description: `${name} description`,
    rounds: {
      info: infoRates.map((rate) => load(rate, options.cpu)),
      runs: infoRates.map((rate) => load(rate / 10, options.cpu)),
    },
    rssStartMiB: 100,
    rssEndMiB: options.rssEndMiB ?? 120,
    spansReceived: name.startsWith('full') ? 1000 : undefined,
    requestsServed: 10_000,
  };
}

const metrics: MetricsProbeResult = {
  tenants: 1000,
  renderMs: 11.2,
  renderOpenMetricsMs: 12.5,
  renderCpuMs: 10.5,
  renderLines: 6300,
  recordRequestMicros: 0.9,
  idleLoopDelayP99Ms: 1.1,
  scrapeLoopDelayP99Ms: 12,
  scrapeLoopDelayMaxMs: 15,
  scrapesInLoop: 250,
  scrapeLoopRenderP99Ms: 13,
};

describe('bench report', () => {
  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('summarises rounds: median rate, range, CPU weighted by requests', () => {
    const summary = summariseRounds([load(100, 10), load(300, 20), load(200, 10)]);

    expect(summary).toMatchObject({
      requestsPerSecond: 200,
      minRequestsPerSecond: 100,
      maxRequestsPerSecond: 300,
      completed: 2400,
    });
    expect(summary.cpuMicrosPerRequest).toBeCloseTo((400 * 10 + 1200 * 20 + 800 * 10) / 2400);
  });

  it('keeps the highest RSS sampled in any round', () => {
    expect(summariseRounds([load(1, 1, 150), load(1, 1, 180), load(1, 1, 160)]).rssMaxMiB).toBe(
      180,
    );
    expect(summariseRounds([]).rssMaxMiB).toBeNaN();
  });

  it('compares modes round by round, so drift of the machine cancels out', () => {
    const bare = mode('bare', [10_000, 20_000, 40_000]);
    const full = mode('full-10', [9_000, 18_000, 36_000]);

    expect(pairedThroughputRatio(full, bare, 'info')).toBeCloseTo(0.9);
    expect(bareSpread([bare, full], 'info')).toBeCloseTo(30_000 / 20_000);
  });

  it('derives the CPU-implied ratio from CPU per request', () => {
    expect(
      cpuImpliedRatio(mode('full-10', [1], { cpu: 40 }), mode('bare', [1], { cpu: 20 }), 'info'),
    ).toBe(0.5);
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
      [mode('bare', [10_000]), mode('full-10', [8_500]), mode('full-100', [6_999])],
      metrics,
    );
    const verdictOf = (prefix: string) =>
      checks.find((check) => check.target.startsWith(prefix))?.pass;

    expect(verdictOf('full-10: /v1/info')).toBe(true);
    expect(verdictOf('full-100: /v1/info')).toBe(false);
    expect(verdictOf('/metrics')).toBe(true);
  });

  it('compares collector-down with full-10, not with bare', () => {
    const checks = checkTargets(
      [
        mode('bare', [20_000]),
        mode('full-10', [10_000], { rssEndMiB: 200 }),
        mode('collector-down', [9_600], { rssEndMiB: 230 }),
      ],
      metrics,
    ).filter((check) => check.target.startsWith('collector-down'));

    expect(checks.map((check) => check.pass)).toEqual([true, true, true, true, false]);
  });

  it('measures RSS growth from the end of the first round when there are several', () => {
    // load() ends every round at 110 MiB; the run ends at 150.
    expect(rssGrowthMiB(mode('collector-down', [1, 1], { rssEndMiB: 150 }))).toBe(40);
    expect(rssGrowthMiB(mode('collector-down', [1], { rssEndMiB: 150 }))).toBe(50);
  });

  it('leaves targets of modes that did not run undecided', () => {
    const checks = checkTargets([mode('bare', [10_000])], undefined);

    expect(checks.every((check) => check.pass === undefined)).toBe(true);
  });

  it('prints PASS and FAIL per target in the report', () => {
    const report = renderReport({
      settings: {
        durationSeconds: 4,
        warmupSeconds: 1,
        connections: 32,
        rounds: 1,
        cpus: 2,
        node: '24.0.0',
        startedAt: '2026-01-01T00:00:00.000Z',
        totalSeconds: 200,
        loadAverage: 1,
      },
      runs: [mode('bare', [10_000]), mode('full-10', [9_000]), mode('full-100', [6_000])],
      metrics,
    });

    expect(report).toContain('| full-10: /v1/info throughput >= 85% of bare | 90.0% | **PASS** |');
    expect(report).toContain('| full-100: /v1/info throughput >= 70% of bare | 60.0% | **FAIL** |');
    expect(report).toContain('| full-10 | 9000 | 9000–9000 | 90.0% |');
  });
});
