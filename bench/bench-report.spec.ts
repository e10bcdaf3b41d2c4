import type { ModeName } from './bench-modes';
import {
  bareSpread,
  checkTargets,
  cpuDifference,
  cpuImpliedRatio,
  cpuRatio,
  endpointTable,
  markdownTable,
  maxRssMiB,
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

/**
 * A mode measured in rounds at the given /v1/info rates (runs at a tenth of
 * them, 100 times the CPU per request; plain has no runs).
 */
function mode(
  name: ModeName,
  infoRates: number[],
  options: { cpu?: number; runCpu?: number; rssEndMiB?: number; rssMaxMiB?: number } = {},
): ModeRun {
  const cpu = options.cpu ?? 50;
  return {
    mode: name,
    label: name,
    description: `${name} description`,
    rounds: {
      info: infoRates.map((rate) => load(rate, cpu, options.rssMaxMiB)),
      runs:
        name === 'plain'
          ? []
          : infoRates.map((rate) =>
              load(rate / 10, options.runCpu ?? cpu * 100, options.rssMaxMiB),
            ),
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
    expect(verdictOf('/metrics')).toBe(false);
  });

  it('holds /metrics to under 10 ms at the median, in wall and in CPU time', () => {
    const verdicts = (renderMs: number, renderCpuMs: number) =>
      checkTargets([mode('bare', [1])], { ...metrics, renderMs, renderCpuMs })
        .filter((check) => check.target.startsWith('/metrics'))
        .map((check) => check.pass);

    expect(verdicts(9.99, 9.5)).toEqual([true, true]);
    expect(verdicts(10, 9.5)).toEqual([false, true]);
    expect(verdicts(9.5, 10.2)).toEqual([true, false]);
  });

  it.each([
    ['full-10', 5250, true],
    ['full-10', 5260, false],
    ['full-100', 6000, true],
    ['full-100', 6010, false],
  ] as const)(
    'holds %s to its multiple of bare CPU per agent run (%d µs/run against 5000)',
    (name, runCpu, pass) => {
      const check = checkTargets(
        [mode('bare', [1_000], { runCpu: 5000 }), mode(name, [1_000], { runCpu })],
        metrics,
      ).find((entry) => entry.target.startsWith(`${name}: app CPU per agent run`));

      expect(check?.pass).toBe(pass);
      expect(check?.measured).toContain('bare 100 run/s, 5000.0 µs/run');
    },
  );

  it("gives the CPU per request as a multiple of the reference's", () => {
    const bare = mode('bare', [1], { runCpu: 4000 });
    const full = mode('full-100', [1], { runCpu: 5000 });

    expect(cpuRatio(full, bare, 'runs')).toBeCloseTo(1.25);
  });

  it('measures what bare costs over plain on /v1/info, overall and round by round', () => {
    const plain: ModeRun = {
      ...mode('plain', [100, 100]),
      rounds: { info: [load(100, 40), load(100, 42)], runs: [] },
    };
    const bare: ModeRun = {
      ...mode('bare', [100, 100]),
      rounds: { info: [load(100, 41), load(100, 42.5)], runs: [] },
    };

    const difference = cpuDifference(bare, plain, 'info');

    expect(difference.micros).toBeCloseTo(0.75);
    expect(difference.perRound[0]).toBeCloseTo(1);
    expect(difference.perRound[1]).toBeCloseTo(0.5);
  });

  it.each([
    [41, true],
    [41.01, false],
  ])('passes bare over plain at +1 µs/req and no more (bare %d against 40)', (bareCpu, pass) => {
    const check = checkTargets(
      [mode('plain', [12_000], { cpu: 40 }), mode('bare', [10_000], { cpu: bareCpu })],
      metrics,
    ).find((entry) => entry.target.startsWith('bare over plain'));

    expect(check?.pass).toBe(pass);
    expect(check?.measured).toContain('plain 12000 req/s, 40.0 µs/req');
  });

  it('leaves bare over plain undecided when plain did not run', () => {
    const check = checkTargets([mode('bare', [1])], metrics).find((entry) =>
      entry.target.startsWith('bare over plain'),
    );

    expect(check).toMatchObject({ measured: 'not run', pass: undefined });
  });

  it('takes the highest RSS sampled under load over both endpoints and every round', () => {
    const run: ModeRun = {
      ...mode('full-10', [1, 1]),
      rounds: {
        info: [load(1, 50, 150), load(1, 50, 180)],
        runs: [load(1, 50, 210), load(1, 50, 190)],
      },
    };

    expect(maxRssMiB(run)).toBe(210);
    expect(summariseRounds(run.rounds.info).rssMaxMiB).toBe(180);
    expect(maxRssMiB({ ...run, rounds: { info: [], runs: [] } })).toBeNaN();
  });

  it.each([
    [340, true],
    [340.5, false],
  ])('holds full-10 RSS under load to bare + 40 MiB (full-10 at %d, bare at 300)', (rss, pass) => {
    const check = checkTargets(
      [mode('bare', [1], { rssMaxMiB: 300 }), mode('full-10', [1], { rssMaxMiB: rss })],
      metrics,
    ).find((entry) => entry.target.startsWith('full-10: highest RSS'));

    expect(check?.pass).toBe(pass);
    expect(check?.measured).toContain('(bare 300 MiB)');
  });

  it('leaves plain out of the runs table', () => {
    const runs = [mode('plain', [12_000]), mode('bare', [10_000])];

    expect(endpointTable(runs, 'info')).toContain('| plain |');
    expect(endpointTable(runs, 'runs')).not.toContain('| plain |');
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
    expect(checks[0].measured).toBe(
      '96.0% of full-10 (full-10 10000 req/s, 50.0 µs/req; bare 20000 req/s, 50.0 µs/req)',
    );
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
        cpuModel: 'Example CPU @ 2.00GHz',
        cpus: 2,
        node: '24.0.0',
        startedAt: '2026-01-01T00:00:00.000Z',
        totalSeconds: 200,
        loadAverageStart: 1.25,
        loadAverageEnd: 2.5,
      },
      runs: [mode('bare', [10_000]), mode('full-10', [9_000]), mode('full-100', [6_000])],
      metrics,
      infoResponses: [
        { mode: 'bare', headBytes: 180, bodyBytes: 52 },
        { mode: 'plain', headBytes: 150, bodyBytes: 52 },
      ],
    });

    expect(report).toContain(
      '| full-10: /v1/info throughput >= 85% of bare | 90.0% (bare 10000 req/s, 50.0 µs/req) | **PASS** |',
    );
    expect(report).toContain(
      '| full-100: /v1/info throughput >= 70% of bare | 60.0% (bare 10000 req/s, 50.0 µs/req) | **FAIL** |',
    );
    expect(report).toContain('| full-10 | 9000 | 9000–9000 | 90.0% |');
    expect(report).toContain('| CPU | Example CPU @ 2.00GHz, 2 cores |');
    expect(report).toContain('| 1-minute load average | 1.25 at the start, 2.50 at the end |');
    expect(report).toContain('| 2026-01-01T00:00:00.000Z |');
    expect(report).toContain('| load worker (`dist/bench/load-worker.js`, forked) | autocannon');
    expect(report).toContain('bare 180 B of status line and headers + 52 B of body');
  });
});
