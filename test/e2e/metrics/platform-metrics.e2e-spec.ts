import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { InMemoryTracing, startInMemoryTracing } from '../../helpers/in-memory-tracing';
import {
  histogramInconsistencies,
  PROMETHEUS_SCRAPE_ACCEPT,
  sampleValue,
  samplesOf,
  scrapeMetrics,
} from '../../helpers/metrics';
import type { Sample } from '../../helpers/metrics';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';

// The SDK must start before the app's modules load, as the preload does in production.
const tracing: InMemoryTracing = startInMemoryTracing({ LOG_LEVEL: 'silent' });

interface BudgetBody {
  daily: { limit: number; used: number; remaining: number };
  monthly: { limit: number; used: number; remaining: number };
}

const HISTOGRAMS = [
  'http_request_duration_seconds',
  'llm_request_duration_seconds',
  'agent_run_duration_seconds',
  'tool_duration_seconds',
];

describe('metrics after a scripted sequence of platform traffic', () => {
  let db: TestDatabase;
  let sim: LlmSimulator;
  let app: TestApp;
  let rich: TestTenant;
  let poor: TestTenant;
  let samples: Sample[];
  let openMetrics: Sample[];
  let success: {
    status: number;
    body: { trace_id: string; steps: number; usage: Record<string, number> };
  };
  let failedRun: { status: number };
  let budgets: { rich: BudgetBody; poor: BudgetBody };

  beforeAll(async () => {
    db = await createTestDatabase('metrics_platform');
    sim = await startLlmSimulator();
    app = await startTestApp({
      DATABASE_URL: db.url,
      ENABLE_TELEMETRY: 'true',
      LLM_PROXY_URL: sim.url,
      LLM_MAX_RETRIES: '0',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
    rich = await createTenant(app.url, { name: 'rich', daily: 1_000_000, monthly: 10_000_000 });
    poor = await createTenant(app.url, { name: 'poor', daily: 10, monthly: 10_000_000 });
    const mathAgent = await createAgent(app.url, rich.key, {
      type: 'math_agent',
      tools: ['calculator'],
    });
    const poorAgent = await createAgent(app.url, poor.key, { type: 'budget_agent', tools: [] });

    // Only the scripted sequence below is counted.
    app.resetMetrics();
    success = await runAgent(app.url, rich.key, mathAgent.id, 'What is 2+3?');
    sim.setOptions({ failNext: 1, failureStatus: 500 });
    failedRun = await runAgent(app.url, rich.key, mathAgent.id, 'Hello');
    const refused = await runAgent(app.url, poor.key, poorAgent.id, 'Hello');
    const notFound = await request(app.url, 'GET', '/v1/no-such-thing');
    const badJson = await request(app.url, 'POST', '/v1/agents', {
      key: rich.key,
      body: '{"name": ',
    });
    const noKey = await request(app.url, 'GET', '/v1/budget');
    expect([success.status, failedRun.status, refused.status]).toEqual([201, 502, 429]);
    expect([notFound.status, badJson.status, noKey.status]).toEqual([404, 400, 401]);
    budgets = {
      rich: (await request(app.url, 'GET', '/v1/budget', { key: rich.key })).body,
      poor: (await request(app.url, 'GET', '/v1/budget', { key: poor.key })).body,
    };

    samples = (await scrapeMetrics(app.url)).samples;
    openMetrics = (await scrapeMetrics(app.url, { accept: PROMETHEUS_SCRAPE_ACCEPT })).samples;
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await db?.drop();
    await tracing.stop();
  });

  it('counts every HTTP request of the sequence under its route template and status', () => {
    const requests = samplesOf(samples, 'http_requests_total').map((s) => ({
      ...s.labels,
      value: s.value,
    }));
    expect(requests).toHaveLength(7);
    expect(requests).toEqual(
      expect.arrayContaining([
        { method: 'POST', endpoint: '/v1/agents/:id/runs', status: '201', value: 1 },
        { method: 'POST', endpoint: '/v1/agents/:id/runs', status: '502', value: 1 },
        { method: 'POST', endpoint: '/v1/agents/:id/runs', status: '429', value: 1 },
        { method: 'GET', endpoint: 'unmatched', status: '404', value: 1 },
        { method: 'POST', endpoint: '/v1/agents', status: '400', value: 1 },
        { method: 'GET', endpoint: '/v1/budget', status: '401', value: 1 },
        { method: 'GET', endpoint: '/v1/budget', status: '200', value: 2 },
      ]),
    );
    const runs = { method: 'POST', endpoint: '/v1/agents/:id/runs' };
    expect(sampleValue(samples, 'http_request_duration_seconds_count', runs)).toBe(3);
    expect(
      sampleValue(samples, 'http_request_duration_seconds_count', {
        method: 'GET',
        endpoint: '/v1/budget',
      }),
    ).toBe(3);
  });

  it('counts the LLM calls, their tokens and their cost', () => {
    const model = { model: 'sim-small' };
    expect(success.body.steps).toBe(2);
    expect(sampleValue(samples, 'llm_requests_total', { ...model, status: 'success' })).toBe(2);
    expect(sampleValue(samples, 'llm_requests_total', { ...model, status: 'error' })).toBe(1);
    expect(sampleValue(samples, 'llm_request_duration_seconds_count', model)).toBe(3);
    expect(sampleValue(samples, 'llm_tokens_total', { ...model, token_type: 'prompt' })).toBe(
      success.body.usage.prompt_tokens,
    );
    expect(sampleValue(samples, 'llm_tokens_total', { ...model, token_type: 'completion' })).toBe(
      success.body.usage.completion_tokens,
    );
    // The simulator's models are priced at 0 in the table.
    expect(sampleValue(samples, 'llm_cost_usd_total', model)).toBe(0);
  });

  it('counts the agent runs by type and status, their steps and the tool call', () => {
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'math_agent',
        status: 'success',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'math_agent',
        status: 'error',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'budget_agent',
        status: 'budget_exceeded',
      }),
    ).toBe(1);
    expect(samplesOf(samples, 'agent_run_duration_seconds_count')).toHaveLength(3);
    expect(sampleValue(samples, 'agent_steps_total', { agent_type: 'math_agent' })).toBe(2);
    expect(sampleValue(samples, 'agent_steps_total', { agent_type: 'budget_agent' })).toBe(0);
    expect(sampleValue(samples, 'active_agent_runs')).toBe(0);
    expect(
      sampleValue(samples, 'tool_calls_total', { tool_name: 'calculator', success: 'true' }),
    ).toBe(1);
    expect(samplesOf(samples, 'tool_calls_total')).toHaveLength(1);
    expect(sampleValue(samples, 'tool_duration_seconds_count', { tool_name: 'calculator' })).toBe(
      1,
    );
  });

  it('counts the budget refusal and no label overflow', () => {
    expect(sampleValue(samples, 'token_budget_exceeded_total', { period: 'daily' })).toBe(1);
    // (absent here only because the test reset the registry; in production it starts at 0)
    expect(sampleValue(samples, 'token_budget_exceeded_total', { period: 'monthly' }) ?? 0).toBe(0);
    expect(samplesOf(samples, 'metrics_label_overflow_total').every((s) => s.value === 0)).toBe(
      true,
    );
  });

  it('reports budget gauges equal to GET /v1/budget for each tenant and period', () => {
    for (const [tenant, budget] of [
      [rich, budgets.rich],
      [poor, budgets.poor],
    ] as const) {
      for (const period of ['daily', 'monthly'] as const) {
        const labels = { tenant_id: tenant.id, period };
        expect({
          limit: sampleValue(samples, 'token_budget_limit', labels),
          used: sampleValue(samples, 'token_budget_used_total', labels),
          remaining: sampleValue(samples, 'token_budget_remaining', labels),
        }).toEqual({
          limit: budget[period].limit,
          used: budget[period].used,
          remaining: budget[period].remaining,
        });
      }
    }
    expect(budgets.rich.daily.used).toBe(success.body.usage.total_tokens);
  });

  it('keeps every histogram’s buckets consistent with its _count', () => {
    for (const name of HISTOGRAMS) expect(histogramInconsistencies(samples, name)).toEqual([]);
  });

  it('carries trace ids of exported traces as exemplars on every duration histogram in OpenMetrics', async () => {
    const exported = new Set(
      (await tracing.collectSpans()).map((span) => span.spanContext().traceId),
    );
    expect(exported.has(success.body.trace_id)).toBe(true);
    for (const name of HISTOGRAMS) {
      const exemplars = samplesOf(openMetrics, `${name}_bucket`).flatMap((s) =>
        s.exemplar ? [s.exemplar] : [],
      );
      expect(exemplars.length).toBeGreaterThan(0);
      for (const exemplar of exemplars) {
        expect(Object.keys(exemplar.labels)).toEqual(['trace_id']);
        expect(exported.has(exemplar.labels.trace_id)).toBe(true);
      }
    }
    // The one tool call happened in the successful run.
    const toolExemplars = samplesOf(openMetrics, 'tool_duration_seconds_bucket').flatMap((s) =>
      s.exemplar ? [s.exemplar.labels.trace_id] : [],
    );
    expect(toolExemplars).toEqual([success.body.trace_id]);
    // Prometheus text has no exemplars.
    expect(samples.some((s) => s.exemplar)).toBe(false);
  });
});
