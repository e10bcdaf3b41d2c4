// Forked by run.ts before any app runs, so nothing else competes for the CPU.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { MetricsBench } from './metrics-cost';
import type { MetricsProbeResult } from './bench-report';

async function probe(tenants: number): Promise<MetricsProbeResult> {
  const bench = await MetricsBench.create(tenants);
  const text = await bench.measure({ format: 'prometheus' });
  // Same registry: the OpenMetrics render adds exemplar handling.
  const open = await bench.measure({ format: 'openmetrics', requests: 1000 });

  // CPU time of a render: unlike wall time, it does not grow when other processes take the cores.
  const cpuTimings: number[] = [];
  for (let i = 0; i < 30; i++) {
    const before = process.cpuUsage();
    await bench.render('prometheus');
    const used = process.cpuUsage(before);
    cpuTimings.push((used.user + used.system) / 1000);
  }

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await sleep(1000);
  histogram.disable();
  const idleP99 = histogram.percentile(99) / 1e6;

  histogram.reset();
  histogram.enable();
  const renders: number[] = [];
  const end = performance.now() + 3000;
  while (performance.now() < end) {
    const renderStarted = performance.now();
    await bench.render('prometheus');
    renders.push(performance.now() - renderStarted);
    // Yield between scrapes as an HTTP server would between requests.
    await nextTurn();
  }
  histogram.disable();
  await bench.close();

  return {
    tenants,
    renderMs: text.renderMs,
    renderOpenMetricsMs: open.renderMs,
    renderCpuMs: median(cpuTimings),
    renderLines: text.renderLines,
    recordRequestMicros: text.recordRequestMicros,
    idleLoopDelayP99Ms: idleP99,
    scrapeLoopDelayP99Ms: histogram.percentile(99) / 1e6,
    scrapeLoopDelayMaxMs: histogram.max / 1e6,
    scrapesInLoop: renders.length,
    scrapeLoopRenderP99Ms: renders.sort((a, b) => a - b)[Math.floor(renders.length * 0.99)] ?? NaN,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

probe(Number(process.argv[2] ?? 1000)).then(
  (result) => process.send?.(result, () => process.exit(0)),
  (error: unknown) => {
    process.stderr.write(`metrics probe failed: ${String(error)}\n`);
    process.exit(1);
  },
);
