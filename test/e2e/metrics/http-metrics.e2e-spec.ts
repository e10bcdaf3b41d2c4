import { ManagementServer } from '../../../src/observability/management';
import { METRICS_REGISTRY, MetricsService } from '../../../src/observability/metrics';
import { TokenBudgetService } from '../../../src/platform/budgets';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import {
  histogramInconsistencies,
  parseExposition,
  PROMETHEUS_SCRAPE_ACCEPT,
  promtoolCheckMetrics,
  sampleValue,
  samplesOf,
  scrapeMetrics,
} from '../../helpers/metrics';
import { createTenant, request, TEST_ADMIN_KEY } from '../../helpers/platform';

describe('HTTP metrics and the /metrics endpoint', () => {
  let db: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('metrics_http');
    app = await startTestApp({ DATABASE_URL: db.url, ADMIN_API_KEY: TEST_ADMIN_KEY });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  beforeEach(() => app.resetMetrics());

  it('counts each request by method, route template and status, errors included', async () => {
    await request(app.url, 'GET', '/v1/info');
    await request(app.url, 'GET', '/v1/info?x=1');
    await request(app.url, 'GET', '/v1/agents/3f0e0b5e-0000-4000-8000-000000000000');
    await request(app.url, 'GET', '/no/such/route/42');
    await request(app.url, 'POST', '/v1/tenants', { body: '{not json' });
    await request(app.url, 'DELETE', '/v1/info');
    await request(app.url, 'PROPFIND', '/v1/info');
    await request(app.url, 'GET', '/health/live');
    await request(app.url, 'GET', '/health');
    await scrapeMetrics(app.url);

    const { samples } = await scrapeMetrics(app.url);
    const requests = samplesOf(samples, 'http_requests_total');
    expect(requests.map((s) => ({ ...s.labels, value: s.value }))).toEqual(
      expect.arrayContaining([
        { method: 'GET', endpoint: '/v1/info', status: '200', value: 2 },
        // guards run before pipes: the unauthenticated call is a 401 under its template
        { method: 'GET', endpoint: '/v1/agents/:id', status: '401', value: 1 },
        { method: 'GET', endpoint: 'unmatched', status: '404', value: 1 },
        { method: 'POST', endpoint: '/v1/tenants', status: '400', value: 1 },
        { method: 'DELETE', endpoint: 'unmatched', status: '404', value: 1 },
      ]),
    );
    // PROPFIND is not a method Fastify routes: it is answered, and counted as OTHER.
    expect(requests.filter((s) => s.labels.method === 'OTHER').length).toBe(1);
    expect(requests).toHaveLength(6);
    // /metrics and /health/* are not traffic.
    expect(requests.filter((s) => /metrics|health/.test(s.labels.endpoint))).toEqual([]);
    expect(
      sampleValue(samples, 'http_request_duration_seconds_count', {
        method: 'GET',
        endpoint: '/v1/info',
      }),
    ).toBe(2);
    expect(histogramInconsistencies(samples, 'http_request_duration_seconds')).toEqual([]);
  });

  it('never puts a raw URL in the endpoint label', async () => {
    for (let i = 0; i < 50; i++) await request(app.url, 'GET', `/random/${i}?q=${i}`);
    const { samples } = await scrapeMetrics(app.url);
    expect(samplesOf(samples, 'http_requests_total')).toEqual([
      expect.objectContaining({
        labels: { method: 'GET', endpoint: 'unmatched', status: '404' },
        value: 50,
      }),
    ]);
  });

  it('reports the open connections of the server', async () => {
    const { samples } = await scrapeMetrics(app.url);
    // at least the scrape's own connection
    expect(sampleValue(samples, 'active_connections')).toBeGreaterThanOrEqual(1);
  });

  it('serves OpenMetrics with # EOF when the scraper asks for it, Prometheus text otherwise', async () => {
    await request(app.url, 'GET', '/v1/info');
    const openMetrics = await scrapeMetrics(app.url, { accept: PROMETHEUS_SCRAPE_ACCEPT });
    expect(openMetrics.contentType).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    expect(openMetrics.text).toContain('# TYPE http_requests counter');
    expect(openMetrics.text.endsWith('# EOF\n')).toBe(true);
    const text = await scrapeMetrics(app.url);
    expect(text.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.text).toContain('# TYPE http_requests_total counter');
    expect(
      sampleValue(text.samples, 'http_requests_total', {
        method: 'GET',
        endpoint: '/v1/info',
        status: '200',
      }),
    ).toBe(1);
  });

  it('exposes the default Node.js and process metrics', async () => {
    const { samples } = await scrapeMetrics(app.url);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(samplesOf(samples, name).length).toBeGreaterThan(0);
    }
  });

  it('passes promtool check metrics, except the gauge named token_budget_used_total', async () => {
    // Every family populated, so promtool sees every name, type and label set.
    const metrics = app.app.get(MetricsService);
    metrics.recordAgentRun({
      agentType: 'rag_agent',
      status: 'success',
      durationSeconds: 12.5,
      steps: 8,
    });
    metrics.recordLlmRequest({
      model: 'openai/gpt-4o-mini',
      status: 'success',
      durationSeconds: 2.3,
      promptTokens: 150,
      completionTokens: 300,
    });
    metrics.recordToolCall({ toolName: 'web_search', success: true, durationSeconds: 0.8 });
    // Budget gauges come from the ledger on each scrape: a tenant with usage this period is in them.
    const tenant = await createTenant(app.url, { name: 'promtool' });
    const budgets = app.app.get(TokenBudgetService);
    const reservation = await budgets.reserve(
      tenant.id,
      { daily: 1000, monthly: 10_000 },
      { promptTokens: 0, maxOutputTokens: 16, ttlMs: 60_000 },
    );
    await budgets.settle(reservation, { totalTokens: 10, completionTokens: 10, model: 'm' });
    metrics.recordBudgetExceeded('daily');
    metrics.recordHealthCheck('database', true, 0.003);
    await request(app.url, 'GET', '/v1/info');

    const { text } = await scrapeMetrics(app.url);
    const { code, output } = await promtoolCheckMetrics(text);
    const problems = output.split('\n').filter((line) => line.trim() !== '');
    expect(problems).toEqual([
      'token_budget_used_total non-counter metrics should not have "_total" suffix',
    ]);
    expect(code).not.toBe(0);
    expect(parseExposition(text).length).toBeGreaterThan(0);
  });

  it('keeps the metrics of several app instances in one process apart, each on its own registry', async () => {
    const second = await startTestApp({ DATABASE_URL: db.url });
    try {
      await request(second.url, 'GET', '/v1/info');
      await request(second.url, 'GET', '/v1/info');
      await request(app.url, 'GET', '/v1/info');
      const [fromFirst, fromSecond] = await Promise.all([
        scrapeMetrics(app.url),
        scrapeMetrics(second.url),
      ]);
      const labels = { method: 'GET', endpoint: '/v1/info', status: '200' };
      expect(sampleValue(fromFirst.samples, 'http_requests_total', labels)).toBe(1);
      expect(sampleValue(fromSecond.samples, 'http_requests_total', labels)).toBe(2);
    } finally {
      await second.close();
    }
    // The first app keeps serving and counting after the second closed.
    await request(app.url, 'GET', '/v1/info');
    const { samples } = await scrapeMetrics(app.url);
    expect(
      sampleValue(samples, 'http_requests_total', {
        method: 'GET',
        endpoint: '/v1/info',
        status: '200',
      }),
    ).toBe(2);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const token = 'scrape-token-0123456789';
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(() => app?.close());

  it('answers 401 without the bearer token, as a JSON error with a challenge', async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      request_id: expect.any(String),
    });
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it('answers 401 with a wrong token', async () => {
    expect((await scrapeMetrics(app.url, { token: 'wrong' })).status).toBe(401);
  });

  it('answers 200 with the token', async () => {
    const scrape = await scrapeMetrics(app.url, { token });
    expect(scrape.status).toBe(200);
    expect(scrape.text).toContain('# TYPE http_requests_total counter');
  });
});

describe('with METRICS_ENABLED=false', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ METRICS_ENABLED: 'false' });
  });
  afterAll(() => app?.close());

  it('has no /metrics route and counts nothing', async () => {
    expect((await request(app.url, 'GET', '/v1/info')).status).toBe(200);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    // No registry at all: nothing could have counted the request.
    expect(app.metricsRegistry).toBeUndefined();
    expect(() => app.app.get(METRICS_REGISTRY)).toThrow();
  });
});

describe('/metrics with MANAGEMENT_PORT', () => {
  const token = 'mgmt-scrape-token';
  let app: TestApp;
  let managementUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ MANAGEMENT_PORT: '0', METRICS_TOKEN: token });
    managementUrl = `http://127.0.0.1:${app.app.get(ManagementServer).port}`;
  });
  afterAll(() => app?.close());

  it('is served only on the management listener, with the same token and negotiation', async () => {
    await request(app.url, 'GET', '/v1/info');
    expect(
      (await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(404);
    const refused = await fetch(`${managementUrl}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const text = await scrapeMetrics(managementUrl, { token });
    expect(text.status).toBe(200);
    expect(text.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(
      samplesOf(text.samples, 'http_requests_total', { endpoint: '/v1/info' }).length,
    ).toBeGreaterThan(0);
    const openMetrics = await scrapeMetrics(managementUrl, {
      token,
      accept: PROMETHEUS_SCRAPE_ACCEPT,
    });
    expect(openMetrics.text.endsWith('# EOF\n')).toBe(true);
  });
});

describe('with a bad LLM_PRICES_FILE', () => {
  it('refuses to start with an error naming the variable', async () => {
    await expect(
      startTestApp({ LLM_PRICES_FILE: '/nonexistent/prices.json' }),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      variable: 'LLM_PRICES_FILE',
    });
  });
});
