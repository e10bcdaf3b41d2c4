import { dirname, resolve } from 'node:path';
import { METRIC } from '../../../src/observability/metrics/metric-names';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import {
  dashboardQueries,
  DEPLOY,
  PROMETHEUS_JOB,
  readAlertRules,
  readDashboard,
  readYaml,
  type Doc,
} from '../../helpers/deploy-artefacts';
import { abandonRequest } from '../../helpers/abandon';
import { openEventStream } from '../../helpers/sse';
import { startLlmSimulatorForApp } from '../../helpers/llm-simulator';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import {
  PrometheusServer,
  PromQueryResult,
  startPrometheus,
} from '../../helpers/prometheus-server';
import {
  metricFamilyOf,
  multiValueRegex,
  parsePromql,
  seriesNamesOfExposition,
  substituteGrafanaVariables,
} from '../../helpers/promql';
import { waitFor } from '../../helpers/wait-for';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * deploy/prometheus/prometheus.yml with the target rewritten to the test app and 1 s intervals,
 * without its Alertmanager (no such host here; alerts-end-to-end.e2e-spec.ts runs one).
 */
function prometheusConfigFor(target: string): Record<string, Doc> {
  const { alerting: _noAlertmanager, ...base } = readYaml<Record<string, Doc>>(
    DEPLOY.prometheusConfig,
  );
  const configDir = dirname(DEPLOY.prometheusConfig);
  return {
    ...base,
    global: { ...base.global, scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: (base.rule_files as string[]).map((file) => resolve(configDir, file)),
    scrape_configs: (base.scrape_configs as Record<string, Doc>[]).map((job) => ({
      ...job,
      scrape_interval: '1s',
      scrape_timeout: '1s',
      static_configs: [{ targets: [target] }],
    })),
  };
}

function resultOf(
  response: PromQueryResult,
): { metric: Record<string, string>; value?: [number, string] }[] {
  return response.data?.result ?? [];
}

function hasFiniteSample(response: PromQueryResult): boolean {
  return resultOf(response).some((sample) => Number.isFinite(Number(sample.value?.[1])));
}

function describeResponse(expr: string, response: PromQueryResult): string {
  return `${expr}\n→ ${response.status} ${response.errorType ?? ''} ${response.error ?? ''} ${JSON.stringify(resultOf(response).slice(0, 3))}`;
}

describe('deploy/ artefacts against a real Prometheus scraping the running app', () => {
  let db: TestDatabase;
  let simulator: LlmSimulator;
  let app: TestApp;
  let prometheus: PrometheusServer | undefined;
  let tenants: { rich: TestTenant; tight: TestTenant; folded: TestTenant };
  let agents: { rich: string; tight: string; folded: string; unpriced: string; capped: string };

  /** Our tenants whose budget series Prometheus holds now (the app shows the most recently active, up to its cap). */
  async function tenantsWithBudgetSeries(): Promise<TestTenant[]> {
    const response = await prometheus!.query(
      `count by (tenant_id) (token_budget_remaining{job="${PROMETHEUS_JOB}"})`,
    );
    const ids = new Set(resultOf(response).map((sample) => sample.metric.tenant_id));
    return Object.values(tenants).filter((tenant) => ids.has(tenant.id));
  }

  /** health_check_duration_seconds_count{component="database"} in the app's own /metrics. */
  async function databaseChecksCounted(): Promise<number> {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((entry) =>
        entry.startsWith('health_check_duration_seconds_count{component="database"}'),
      );
    return Number(line?.split(' ')[1] ?? 0);
  }

  /** One round of the traffic a dashboard exists to show: API calls, a 404, health, agent runs (ok, refused, over budget, LLM failing). */
  async function driveTraffic(): Promise<void> {
    const { rich, tight, folded } = tenants;
    for (let i = 0; i < 5; i++) expect((await fetch(`${app.url}/v1/info`)).status).toBe(200);
    expect((await fetch(`${app.url}/v1/nothing-here`)).status).toBe(404);
    // /health reuses a check result for a second: ask until a fresh database check is counted,
    // so the health-check latency panel has new observations in this round too.
    const checksBefore = await databaseChecksCounted();
    await waitFor(
      async () => {
        expect((await fetch(`${app.url}/health`)).status).toBe(200);
        return (await databaseChecksCounted()) > checksBefore;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    // A tool call (calculator), LLM tokens, cost, budget gauges.
    expect((await runAgent(app.url, rich.key, agents.rich, 'What is 2+3?')).status).toBe(201);
    expect((await runAgent(app.url, rich.key, agents.unpriced, 'Hello')).status).toBe(201);
    // A streamed run: its model calls stream from the proxy, timed to their first chunk.
    const streamed = await openEventStream(app.url, `/v1/agents/${agents.rich}/runs`, {
      headers: { authorization: `Bearer ${rich.key}` },
      body: { input: 'What is 3+4?', stream: true },
    });
    await streamed.ended;
    expect(streamed.events.at(-1)?.event).toBe('run.completed');
    // A tenant at its limit of runs in flight (TENANT_MAX_CONCURRENT_RUNS=1): one more is refused.
    simulator.setOptions({ latencyMs: 500 });
    const callsBefore = simulator.chatRequestCount;
    const slow = runAgent(app.url, rich.key, agents.unpriced, 'Hello');
    await waitFor(() => simulator.chatRequestCount > callsBefore, { timeoutMs: 5000 });
    simulator.setOptions({ latencyMs: 0 });
    expect((await runAgent(app.url, rich.key, agents.unpriced, 'Hello')).status).toBe(429);
    expect((await slow).status).toBe(201);
    // A tenant that spends its budget: 429 budget_exceeded once the next call cannot be covered.
    let last = await runAgent(app.url, tight.key, agents.tight, 'What is 1+1?');
    for (let i = 0; i < 10 && last.status !== 429; i++) {
      last = await runAgent(app.url, tight.key, agents.tight, 'What is 1+1?');
    }
    expect(last.status).toBe(429);
    // The third tenant with budget gauges, past METRICS_MAX_TENANTS=2: folds into _other.
    expect((await runAgent(app.url, folded.key, agents.folded, 'What is 7*6?')).status).toBe(201);
    // A client that gives up on its run: a 499, and a cancelled run (another tenant's slot).
    simulator.setOptions({ latencyMs: 1000 });
    await abandonRequest(app.url, {
      method: 'POST',
      path: `/v1/agents/${agents.folded}/runs`,
      headers: { authorization: `Bearer ${folded.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'What is 2+3?' }),
      afterMs: 200,
    });
    simulator.setOptions({ latencyMs: 0 });
    // A proxy that ignores max_tokens: the answer runs past the bound (an overrun).
    simulator.setOptions({ ignoreMaxTokens: true });
    simulator.setScript(() => ({ kind: 'text', content: 'word '.repeat(100) }));
    expect((await runAgent(app.url, rich.key, agents.capped, 'Write a lot')).status).toBe(201);
    // A model asking for a tool its agent does not list: refused, never run.
    simulator.setScript((chat) =>
      chat.messages.some((message) => message.role === 'tool')
        ? { kind: 'text', content: 'done' }
        : { kind: 'tool_calls', calls: [{ name: 'kb_search', arguments: { query: 'secrets' } }] },
    );
    expect((await runAgent(app.url, rich.key, agents.unpriced, 'Search it')).status).toBe(201);
    simulator.setScript(undefined);
    simulator.setOptions({ ignoreMaxTokens: false });
    // The LLM proxy failing: a 5xx for the error-rate panel and alert.
    simulator.setOptions({ failNext: 1, failureStatus: 500 });
    expect((await runAgent(app.url, rich.key, agents.rich, 'What is 4+4?')).status).toBe(502);
    simulator.setOptions({ failNext: 0 });
  }

  /** Waits until Prometheus holds `count` successful scrapes taken after `since` (ms epoch). */
  async function waitForScrapesSince(since: number, count: number): Promise<void> {
    await waitFor(
      async () => {
        const windowMs = Math.max(1, Date.now() - since);
        const response = await prometheus!.query(
          `sum_over_time(up{job="${PROMETHEUS_JOB}"}[${windowMs}ms])`,
        );
        return Number(resultOf(response)[0]?.value?.[1] ?? 0) >= count;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase('deploy_prometheus');
    const started = await startLlmSimulatorForApp();
    simulator = started.simulator;
    app = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ...started.env,
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '5000',
      // Three tenants, a cap of two: the third folds into _other and is counted as overflow.
      METRICS_MAX_TENANTS: '2',
      // Runs are sequential here but for the one refused on purpose.
      TENANT_MAX_CONCURRENT_RUNS: '1',
    });
    const rich = await createTenant(app.url, { name: 'rich' });
    // Room for one run (about 1,500 tokens) and not for a second.
    const tight = await createTenant(app.url, { name: 'tight', daily: 2_000, monthly: 100_000 });
    const folded = await createTenant(app.url, { name: 'folded' });
    tenants = { rich, tight, folded };
    agents = {
      rich: (await createAgent(app.url, rich.key)).id,
      tight: (await createAgent(app.url, tight.key)).id,
      folded: (await createAgent(app.url, folded.key)).id,
      // A model the price table does not know: its tokens are unpriced.
      unpriced: (await createAgent(app.url, rich.key, { model: 'house-llm', tools: [] })).id,
      capped: (await createAgent(app.url, rich.key, { tools: [], max_output_tokens: 16 })).id,
    };

    // Round one creates every series; round two, between scrapes, makes rates non-zero.
    await driveTraffic();
    prometheus = await startPrometheus(prometheusConfigFor(new URL(app.url).host));
    await waitForScrapesSince(Date.now(), 1);
    await driveTraffic();
    await waitForScrapesSince(Date.now(), 2);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.close();
    await app?.close();
    await simulator?.close();
    await db?.drop();
  });

  it('scrapes the app with the job of deploy/prometheus/prometheus.yml', async () => {
    const up = resultOf(await prometheus!.query(`up{job="${PROMETHEUS_JOB}"}`));
    expect(up).toEqual([
      {
        metric: expect.objectContaining({ job: PROMETHEUS_JOB, instance: new URL(app.url).host }),
        value: [expect.any(Number), '1'],
      },
    ]);
  });

  it('loads every rule of alerts.yml and evaluates it against the real series without error', async () => {
    const names = readAlertRules()
      .map((rule) => rule.alert)
      .sort();
    const rules = await waitFor(
      async () => {
        const response = await prometheus!.api<{
          data: { groups: { rules: Record<string, Doc>[] }[] };
        }>('/api/v1/rules');
        const all = response.data.groups.flatMap((group) => group.rules);
        const evaluated = all.filter(
          (rule) => rule.lastEvaluation && !rule.lastEvaluation.startsWith('0001-'),
        );
        return evaluated.length === names.length ? all : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(rules.map((rule) => rule.name).sort()).toEqual(names);
    for (const rule of rules) {
      expect({ rule: rule.name, health: rule.health, lastError: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        lastError: '',
      });
    }
  });

  describe('dashboard deploy/grafana/dashboards/overview.json', () => {
    const queries = dashboardQueries(readDashboard());

    it('fills the tenant_id variable from the real series (label_values), _other included', async () => {
      const variable = readDashboard().templating.list.find((entry) => entry.name === 'tenant_id');
      const match = /^label_values\((.+), (\w+)\)$/.exec(variable?.query.query as string);
      expect(match).not.toBeNull();
      const [, selector, label] = match as unknown as [string, string, string];
      const response = await prometheus!.api<{ data: string[] }>(
        `/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`,
      );
      // The app exposes the budgets of the most recently active tenants up to its cap (2 here),
      // so which two of the three show depends on the order of the traffic: any two, or _other.
      const ours = new Set([...Object.values(tenants).map((tenant) => tenant.id), '_other']);
      expect(response.data.filter((value) => !ours.has(value))).toEqual([]);
      expect(response.data.filter((value) => value !== '_other').length).toBeGreaterThanOrEqual(2);
      const seen = await prometheus!.query(
        `count by (tenant_id) (count_over_time(${selector}[1h]))`,
      );
      expect(response.data.sort()).toEqual(
        resultOf(seen)
          .map((sample) => sample.metric.tenant_id)
          .sort(),
      );
    });

    it.each(queries.map((query) => [query.where, query.expr] as const))(
      '%s runs on Prometheus and returns a number',
      async (_where, rawExpr) => {
        // The tight tenant has every budget series, the refusal gauge included.
        const withSeries = await tenantsWithBudgetSeries();
        const selected =
          withSeries.find((tenant) => tenant.id === tenants.tight.id) ?? withSeries[0];
        if (!selected) throw new Error('no tenant of this test has budget series in Prometheus');
        // "All" tenants, then one selected tenant, as a user would pick them.
        for (const tenantSelection of ['.+', multiValueRegex([selected.id])]) {
          const expr = substituteGrafanaVariables(rawExpr, { tenant_id: tenantSelection });
          const response = await prometheus!.query(expr);
          expect({ status: response.status, detail: describeResponse(expr, response) }).toEqual({
            status: 'success',
            detail: expect.any(String),
          });
          // The traffic touches every metric, and its second round falls between scrapes, so
          // every query holds a number (a zero rate would make quantiles and ratios NaN).
          expect({
            hasNumber: hasFiniteSample(response),
            detail: describeResponse(expr, response),
          }).toEqual({
            hasNumber: true,
            detail: expect.any(String),
          });
        }
      },
    );

    it('uses only metric names that the real scrape of the app exposes and metric-names.ts declares', async () => {
      const scrape = await (await fetch(`${app.url}/metrics`)).text();
      const exposed = seriesNamesOfExposition(scrape);
      const declared = new Set<string>(Object.values(METRIC));
      const used = new Set(
        queries.flatMap(
          (query) =>
            parsePromql(substituteGrafanaVariables(query.expr, { tenant_id: '.+' })).metricNames,
        ),
      );
      const missing = [...used].filter((name) => name !== 'up' && !exposed.has(name));
      expect(missing).toEqual([]);
      for (const name of used) {
        const family = metricFamilyOf(name);
        // Not ours: Prometheus' own `up`, and prom-client's runtime metrics, which the scrape shows.
        if (name === 'up' || /^(process|nodejs)_/.test(name)) continue;
        expect({ name, declared: declared.has(family) }).toEqual({ name, declared: true });
      }
    });
  });

  describe('alert rules deploy/prometheus/alerts.yml', () => {
    const rules = readAlertRules();

    it.each(rules.map((rule) => [rule.alert, rule.expr] as const))(
      '%s runs on Prometheus, and the signal it thresholds holds a number',
      async (_alert, expr) => {
        const whole = await prometheus!.query(expr);
        expect({ status: whole.status, detail: describeResponse(expr, whole) }).toEqual({
          status: 'success',
          detail: expect.any(String),
        });
        const parsed = parsePromql(expr);
        expect(parsed.thresholdedSignals.length).toBeGreaterThan(0);
        for (const signal of parsed.thresholdedSignals) {
          const response = await prometheus!.query(signal);
          expect({
            hasNumber: hasFiniteSample(response),
            detail: describeResponse(signal, response),
          }).toEqual({
            hasNumber: true,
            detail: expect.any(String),
          });
        }
      },
    );

    it('sees the LLM proxy as up, so LLMProxyDown stays quiet while the simulator answers', async () => {
      const response = await prometheus!.query(
        `health_component_up{job="${PROMETHEUS_JOB}",component="llm_proxy"}`,
      );
      expect(resultOf(response).map((sample) => sample.value?.[1])).toEqual(['1']);
      const alert = rules.find((rule) => rule.alert === 'LLMProxyDown');
      expect(resultOf(await prometheus!.query(alert?.expr ?? ''))).toEqual([]);
    });

    it('fires the error-rate condition on the 5xx the failing LLM proxy caused', async () => {
      const alert = rules.find((rule) => rule.alert === 'HighErrorRate');
      expect(resultOf(await prometheus!.query(alert?.expr ?? ''))).toHaveLength(1);
    });

    it('sees the folded tenant counted as label overflow', async () => {
      const response = await prometheus!.query(
        `sum(${METRIC.labelOverflow}{job="${PROMETHEUS_JOB}"})`,
      );
      expect(Number(resultOf(response)[0]?.value?.[1] ?? 0)).toBeGreaterThan(0);
    });
  });

  it('exposes the budgets of the tenants it shows the way /v1/budget reports them', async () => {
    const shown = await tenantsWithBudgetSeries();
    expect(shown.length).toBeGreaterThan(0);
    for (const tenant of shown) {
      const budget = await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
      const response = await prometheus!.query(
        `max by (period) (token_budget_remaining{job="${PROMETHEUS_JOB}",tenant_id="${tenant.id}"})`,
      );
      const byPeriod = Object.fromEntries(
        resultOf(response).map((sample) => [sample.metric.period, Number(sample.value?.[1])]),
      );
      expect(byPeriod).toEqual({
        daily: budget.body.daily.remaining,
        monthly: budget.body.monthly.remaining,
      });
    }
  });
});
