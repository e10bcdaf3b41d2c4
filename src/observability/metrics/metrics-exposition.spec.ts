import { Counter, Histogram, Registry } from 'prom-client';
import { PROMETHEUS_SCRAPE_ACCEPT } from '../../../test/helpers/metrics';
import {
  negotiateExpositionFormat,
  renderMetrics,
  scrapeMetricsRegistry,
} from './metrics-exposition';

describe(negotiateExpositionFormat.name, () => {
  it.each([
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain;version=0.0.4', 'prometheus'],
    [PROMETHEUS_SCRAPE_ACCEPT, 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    ['application/openmetrics-text;version=1.0.0;q=0.2,text/plain;q=0.9', 'prometheus'],
    ['application/openmetrics-text;version=0.0.1', 'prometheus'],
    ['application/openmetrics-text;q=0', 'prometheus'],
    ['application/openmetrics-text;q=garbage', 'prometheus'],
    [';;;,,,=', 'prometheus'],
    [['text/plain', 'application/openmetrics-text'], 'openmetrics'],
  ] as const)('answers Accept %j with %s', (accept, format) => {
    expect(negotiateExpositionFormat(accept as string | string[] | undefined)).toBe(format);
  });
});

describe(scrapeMetricsRegistry.name, () => {
  const register = new Registry();
  beforeAll(() => {
    new Counter({ name: 'exposition_test_total', help: 'a counter', registers: [register] }).inc(3);
    const histogram = new Histogram({
      name: 'exposition_test_seconds',
      help: 'a histogram',
      buckets: [1],
      enableExemplars: true,
      registers: [],
    });
    register.registerMetric(histogram);
    histogram.observe({ value: 0.5, exemplarLabels: { trace_id: 'abc' } });
  });

  it('renders Prometheus text by default', async () => {
    const scrape = await scrapeMetricsRegistry(register, {}, undefined);
    expect(scrape).toMatchObject({
      status: 200,
      contentType: expect.stringMatching(/^text\/plain; version=0.0.4/),
    });
    if (scrape.status !== 200) throw new Error('expected 200');
    expect(scrape.body).toContain('exposition_test_total 3');
    expect(scrape.body).not.toContain('# {trace_id=');
  });

  it('renders OpenMetrics with exemplars and # EOF when asked', async () => {
    const scrape = await scrapeMetricsRegistry(
      register,
      { accept: PROMETHEUS_SCRAPE_ACCEPT },
      undefined,
    );
    if (scrape.status !== 200) throw new Error('expected 200');
    expect(scrape.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(scrape.body).toContain('# TYPE exposition_test counter\nexposition_test_total 3');
    expect(scrape.body).toMatch(
      /exposition_test_seconds_bucket\{le="1"\} 1 # \{trace_id="abc"\} 0.5 \d/,
    );
    expect(scrape.body.endsWith('# EOF\n')).toBe(true);
  });

  it('keeps counter names intact for Prometheus text after an OpenMetrics scrape', async () => {
    await renderMetrics(register, 'openmetrics');
    const text = await renderMetrics(register, 'prometheus');
    expect(text).toContain('# TYPE exposition_test_total counter\nexposition_test_total 3');
  });

  describe('with METRICS_TOKEN', () => {
    const token = 's3cret-token';

    it.each([
      ['no header', undefined],
      ['a wrong token', 'Bearer wrong'],
      ['a longer wrong token', `Bearer ${token}x`],
      ['another scheme', `Basic ${token}`],
      ['a bare token', token],
    ])('refuses %s', async (_case, authorization) => {
      await expect(scrapeMetricsRegistry(register, { authorization }, token)).resolves.toEqual({
        status: 401,
        message: expect.any(String),
      });
    });

    it('accepts the bearer token, whatever the scheme case', async () => {
      await expect(
        scrapeMetricsRegistry(register, { authorization: `bearer ${token}` }, token),
      ).resolves.toMatchObject({ status: 200 });
    });
  });
});
