import { sampleValue, samplesOf } from '../../../test/helpers/metrics';
import { startObservedModule } from '../../../test/helpers/observability';
import type { ObservedModule } from '../../../test/helpers/observability';
import { getToken } from '@willsoto/nestjs-prometheus';
import { EXEMPLAR_INTERVAL_MS, HttpMetricsRecorder } from './http-metrics.plugin';
import { METRIC } from './metric-names';

describe(HttpMetricsRecorder.name, () => {
  let observed: ObservedModule;
  let recorder: HttpMetricsRecorder;
  let clock = 0;

  beforeAll(async () => {
    observed = await startObservedModule();
    // The module's own metrics, on a clock the test moves.
    recorder = new HttpMetricsRecorder(
      observed.get(getToken(METRIC.httpRequests)),
      observed.get(getToken(METRIC.httpRequestDuration)),
      () => clock,
    );
  });
  afterAll(() => observed.close());
  beforeEach(() => observed.registry.resetMetrics());

  async function requests() {
    return samplesOf(await observed.samples(), METRIC.httpRequests).map((s) => ({
      ...s.labels,
      value: s.value,
    }));
  }

  it('labels by route template, method and status', async () => {
    recorder.record('POST', '/v1/agents/:id/runs', 201, 0.2);
    recorder.record('POST', '/v1/agents/:id/runs', 201, 0.3);
    recorder.record('POST', '/v1/agents/:id/runs', 429, 0.01);
    expect(await requests()).toEqual([
      { method: 'POST', endpoint: '/v1/agents/:id/runs', status: '201', value: 2 },
      { method: 'POST', endpoint: '/v1/agents/:id/runs', status: '429', value: 1 },
    ]);
    const samples = await observed.samples();
    const labels = { method: 'POST', endpoint: '/v1/agents/:id/runs' };
    expect(sampleValue(samples, `${METRIC.httpRequestDuration}_count`, labels)).toBe(3);
    expect(
      sampleValue(samples, `${METRIC.httpRequestDuration}_bucket`, { ...labels, le: '0.25' }),
    ).toBe(2);
  });

  it('folds unknown and hostile methods into OTHER and unmatched requests into unmatched', async () => {
    recorder.record('PROPFIND', undefined, 404, 0.001);
    recorder.record('G"ET\n', undefined, 404, 0.001);
    recorder.record('get', '/v1/info', 200, 0.001);
    expect(await requests()).toEqual([
      { method: 'OTHER', endpoint: 'unmatched', status: '404', value: 2 },
      { method: 'OTHER', endpoint: '/v1/info', status: '200', value: 1 },
    ]);
  });

  it('does not count /metrics and /health routes', async () => {
    for (const route of ['/metrics', '/health', '/health/live', '/health/ready']) {
      recorder.record('GET', route, 200, 0.001);
    }
    expect(await requests()).toEqual([]);
  });

  it('counts a request whose duration is not a number without observing it', async () => {
    recorder.record('GET', '/v1/info', 200, NaN);
    const samples = await observed.samples();
    expect(
      sampleValue(samples, METRIC.httpRequests, {
        method: 'GET',
        endpoint: '/v1/info',
        status: '200',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, `${METRIC.httpRequestDuration}_count`, {
        method: 'GET',
        endpoint: '/v1/info',
      }),
    ).toBeUndefined();
  });

  it('gives each duration bucket a sampled trace as exemplar, at most one a second', async () => {
    const timed = recorder;
    const exemplars = async () =>
      samplesOf(await observed.samples('openmetrics'), `${METRIC.httpRequestDuration}_bucket`)
        .filter((s) => s.labels.endpoint === '/v1/exemplar' && s.exemplar)
        .map((s) => [s.labels.le, s.exemplar?.labels.trace_id]);

    timed.record('GET', '/v1/exemplar', 200, 0.003, 'trace-a');
    clock += EXEMPLAR_INTERVAL_MS - 1;
    // Same bucket within the interval: counted, but the exemplar stays.
    timed.record('GET', '/v1/exemplar', 200, 0.004, 'trace-b');
    // Another bucket has its own interval.
    timed.record('GET', '/v1/exemplar', 200, 0.3, 'trace-c');
    // Unsampled requests never replace one.
    timed.record('GET', '/v1/exemplar', 200, 0.3);
    expect(await exemplars()).toEqual([
      ['0.005', 'trace-a'],
      ['0.5', 'trace-c'],
    ]);

    clock += 1;
    timed.record('GET', '/v1/exemplar', 200, 0.002, 'trace-d');
    expect(await exemplars()).toEqual([
      ['0.005', 'trace-d'],
      ['0.5', 'trace-c'],
    ]);
    const samples = await observed.samples();
    const labels = { method: 'GET', endpoint: '/v1/exemplar' };
    expect(sampleValue(samples, `${METRIC.httpRequestDuration}_count`, labels)).toBe(5);
  });
});
