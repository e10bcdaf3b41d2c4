import { Test } from '@nestjs/testing';
import type { Env } from '../../config';
import { ConfigModule, loadConfig } from '../../config';
import {
  startInMemoryTracing,
  type InMemoryTracing,
} from '../../../test/helpers/in-memory-tracing';
import { parseExposition, sampleValue, samplesOf } from '../../../test/helpers/metrics';
import type { Sample } from '../../../test/helpers/metrics';
import { startObservedModule } from '../../../test/helpers/observability';
import type { ObservedModule } from '../../../test/helpers/observability';
import { createRootLogger, LoggingModule } from '../logging';
import { withSpan } from '../telemetry';
import { MAX_MODEL_LABEL_VALUES, METRIC, OVERFLOW_LABEL } from './metric-names';
import { METRICS_REGISTRY } from './metric-providers';
import { MetricsModule } from './metrics.module';
import { renderMetrics } from './metrics-exposition';
import {
  BUDGET_SNAPSHOT_TIMEOUT_MS,
  LiveMetricsService,
  MetricsService,
  NoopMetricsService,
} from './metrics.service';
import type { TokenBudgetRecord } from './metrics.types';

/** The metrics module of the test in progress: each test builds its own, as each app does. */
let current: ObservedModule | undefined;

async function service(env: Env = {}): Promise<LiveMetricsService> {
  await current?.close();
  current = await startObservedModule({ env });
  return current.get(MetricsService) as LiveMetricsService;
}

async function scrape(format: 'prometheus' | 'openmetrics' = 'prometheus'): Promise<Sample[]> {
  if (!current) throw new Error('no metrics module started');
  return current.samples(format);
}

function budget(
  tenantId: string,
  period: 'daily' | 'monthly',
  used: number,
  limit = 1000,
): TokenBudgetRecord {
  return { tenantId, period, used, remaining: limit - used, limit };
}

describe(MetricsService.name, () => {
  afterAll(async () => {
    await current?.close();
    current = undefined;
  });

  describe('with METRICS_ENABLED=false', () => {
    it('registers nothing and records nothing', async () => {
      const config = loadConfig({
        NODE_ENV: 'test',
        METRICS_ENABLED: 'false',
        LOG_LEVEL: 'silent',
      });
      const module = await Test.createTestingModule({
        imports: [
          ConfigModule.forRoot(config),
          LoggingModule.forRoot(createRootLogger(config)),
          MetricsModule.forRoot(config),
        ],
      }).compile();
      const metrics = module.get(MetricsService);
      expect(metrics).toBeInstanceOf(NoopMetricsService);
      expect(() => module.get(METRICS_REGISTRY)).toThrow();
      metrics.recordAgentRun({ agentType: 'a', status: 'success', durationSeconds: 1, steps: 1 });
      metrics.recordLlmRequest({
        model: 'm',
        status: 'success',
        durationSeconds: 1,
        promptTokens: 1,
        completionTokens: 1,
      });
      metrics.recordToolCall({ toolName: 't', success: true, durationSeconds: 1 });
      metrics.updateTokenBudget(budget('t1', 'daily', 1));
      metrics.recordBudgetExceeded('daily');
      metrics.recordRunRefused('t1', 'tenant_concurrency');
      metrics.recordHealthCheck('database', true, 0.01);
      metrics.startAgentRun()();
      metrics.recordRunsInterrupted(2);
      metrics.setBudgetSnapshotProvider(() => Promise.resolve([]));
      await metrics.refreshBudgets();
      await module.close();
    });
  });

  it('records an agent run with its steps and the active-run gauge', async () => {
    const metrics = await service();
    const end = metrics.startAgentRun();
    expect(sampleValue(await scrape(), METRIC.activeAgentRuns)).toBe(1);
    metrics.recordAgentRun({
      agentType: 'rag_agent',
      status: 'success',
      durationSeconds: 12.5,
      steps: 8,
    });
    end();
    end(); // a second call must not drive the gauge negative
    const samples = await scrape();
    expect(sampleValue(samples, METRIC.activeAgentRuns)).toBe(0);
    expect(sampleValue(samples, METRIC.agentSteps, { agent_type: 'rag_agent' })).toBe(8);
    const labels = { agent_type: 'rag_agent', status: 'success' };
    expect(sampleValue(samples, `${METRIC.agentRunDuration}_count`, labels)).toBe(1);
    expect(sampleValue(samples, `${METRIC.agentRunDuration}_sum`, labels)).toBe(12.5);
    expect(sampleValue(samples, `${METRIC.agentRunDuration}_bucket`, { ...labels, le: '10' })).toBe(
      0,
    );
    expect(sampleValue(samples, `${METRIC.agentRunDuration}_bucket`, { ...labels, le: '30' })).toBe(
      1,
    );
  });

  it('records an LLM request: count, duration, tokens by type and cost from the price table', async () => {
    const metrics = await service();
    metrics.recordLlmRequest({
      model: 'openai/gpt-4o-mini',
      status: 'success',
      durationSeconds: 2.3,
      promptTokens: 150,
      completionTokens: 300,
    });
    metrics.recordLlmRequest({
      model: 'openai/gpt-4o-mini',
      status: 'error',
      durationSeconds: 0.5,
      promptTokens: 0,
      completionTokens: 0,
    });
    const samples = await scrape();
    const model = { model: 'openai/gpt-4o-mini' };
    expect(sampleValue(samples, METRIC.llmRequests, { ...model, status: 'success' })).toBe(1);
    expect(sampleValue(samples, METRIC.llmRequests, { ...model, status: 'error' })).toBe(1);
    expect(sampleValue(samples, `${METRIC.llmRequestDuration}_count`, model)).toBe(2);
    expect(
      sampleValue(samples, `${METRIC.llmRequestDuration}_bucket`, { ...model, le: '2.56' }),
    ).toBe(2);
    expect(
      sampleValue(samples, `${METRIC.llmRequestDuration}_bucket`, { ...model, le: '1.28' }),
    ).toBe(1);
    expect(sampleValue(samples, METRIC.llmTokens, { ...model, token_type: 'prompt' })).toBe(150);
    expect(sampleValue(samples, METRIC.llmTokens, { ...model, token_type: 'completion' })).toBe(
      300,
    );
    expect(sampleValue(samples, METRIC.llmCost, model)).toBeCloseTo(
      (150 * 0.15 + 300 * 0.6) / 1e6,
      12,
    );
  });

  it('counts an unknown model at zero cost, its tokens as unpriced, and warns once per model', async () => {
    const metrics = await service();
    for (const model of ['house-llm', 'house-llm', 'other-llm']) {
      metrics.recordLlmRequest({
        model,
        status: 'success',
        durationSeconds: 1,
        promptTokens: 10,
        completionTokens: 5,
      });
    }
    metrics.recordLlmRequest({
      model: 'gpt-4o-mini',
      status: 'success',
      durationSeconds: 1,
      promptTokens: 10,
      completionTokens: 5,
    });
    const samples = await scrape();
    expect(sampleValue(samples, METRIC.llmCost, { model: 'house-llm' })).toBe(0);
    expect(sampleValue(samples, METRIC.llmUnpricedTokens, { model: 'house-llm' })).toBe(30);
    expect(sampleValue(samples, METRIC.llmUnpricedTokens, { model: 'other-llm' })).toBe(15);
    expect(samplesOf(samples, METRIC.llmUnpricedTokens, { model: 'gpt-4o-mini' })).toHaveLength(0);
    expect(sampleValue(samples, METRIC.llmCost, { model: 'gpt-4o-mini' })).toBeGreaterThan(0);
    expect(
      current!.logs.events('llm.model.unpriced').map((line) => [line.level, line.model]),
    ).toEqual([
      ['warn', 'house-llm'],
      ['warn', 'other-llm'],
    ]);
  });

  it("keeps a priced or configured model's label whatever other tenants minted", async () => {
    const metrics = await service({ METRICS_KNOWN_MODELS: 'house-llm' });
    const call = (model: string, tenantId: string) =>
      metrics.recordLlmRequest({
        model,
        tenantId,
        status: 'success',
        durationSeconds: 0.1,
        promptTokens: 1,
        completionTokens: 1,
      });
    for (let i = 0; i < 150; i++) call(`junk-model-${i}`, 'tenant-junk');
    call('claude-sonnet-4-5', 'tenant-b');
    call('House-LLM', 'tenant-b');
    call('brand-new-model', 'tenant-b');
    const samples = await scrape();
    for (const model of ['claude-sonnet-4-5', 'House-LLM', 'brand-new-model', 'junk-model-9']) {
      expect(sampleValue(samples, METRIC.llmRequests, { model, status: 'success' })).toBe(1);
    }
    expect(
      sampleValue(samples, METRIC.llmRequests, { model: OVERFLOW_LABEL, status: 'success' }),
    ).toBe(140);
    expect(sampleValue(samples, METRIC.labelOverflow, { metric: METRIC.llmRequests })).toBe(140);
  });

  it('records tool calls by outcome', async () => {
    const metrics = await service();
    metrics.recordToolCall({ toolName: 'calculator', success: true, durationSeconds: 0.002 });
    metrics.recordToolCall({ toolName: 'calculator', success: false, durationSeconds: 0.003 });
    const samples = await scrape();
    expect(
      sampleValue(samples, METRIC.toolCalls, { tool_name: 'calculator', success: 'true' }),
    ).toBe(1);
    expect(
      sampleValue(samples, METRIC.toolCalls, { tool_name: 'calculator', success: 'false' }),
    ).toBe(1);
    expect(sampleValue(samples, `${METRIC.toolDuration}_count`, { tool_name: 'calculator' })).toBe(
      2,
    );
  });

  it('counts interrupted runs from 0, so rate() has a series before the first one', async () => {
    const metrics = await service();
    expect(sampleValue(await scrape(), METRIC.agentRunsInterrupted)).toBe(0);
    metrics.recordRunsInterrupted(3);
    metrics.recordRunsInterrupted(-1);
    expect(sampleValue(await scrape(), METRIC.agentRunsInterrupted)).toBe(3);
  });

  it('records budget refusals and health checks', async () => {
    const metrics = await service();
    metrics.recordBudgetExceeded('monthly');
    metrics.recordHealthCheck('llm_proxy', false, 0.2);
    metrics.recordHealthCheck('database', true, 0.004);
    const samples = await scrape();
    expect(sampleValue(samples, METRIC.tokenBudgetExceeded, { period: 'monthly' })).toBe(1);
    expect(sampleValue(samples, METRIC.healthComponentUp, { component: 'llm_proxy' })).toBe(0);
    expect(sampleValue(samples, METRIC.healthComponentUp, { component: 'database' })).toBe(1);
    expect(
      sampleValue(samples, `${METRIC.healthCheckDuration}_count`, { component: 'llm_proxy' }),
    ).toBe(1);
  });

  it('counts refused runs per tenant, folding tenants past METRICS_MAX_TENANTS into _other', async () => {
    const metrics = await service({ METRICS_MAX_TENANTS: '2' });
    for (const tenant of ['t1', 't1', 't2', 't3', 't4']) {
      metrics.recordRunRefused(tenant, 'tenant_concurrency');
    }
    const samples = await scrape();
    const refused = (tenant_id: string) =>
      sampleValue(samples, METRIC.agentRunsRefused, { tenant_id, reason: 'tenant_concurrency' });
    expect([refused('t1'), refused('t2'), refused(OVERFLOW_LABEL)]).toEqual([2, 1, 2]);
    expect(samplesOf(samples, METRIC.agentRunsRefused, { tenant_id: 't3' })).toHaveLength(0);
    expect(sampleValue(samples, METRIC.labelOverflow, { metric: METRIC.agentRunsRefused })).toBe(2);
  });

  it('never throws on nonsense input and skips what it cannot observe', async () => {
    const metrics = await service();
    expect(() => {
      metrics.recordLlmRequest({
        model: '',
        status: 'success',
        durationSeconds: NaN,
        promptTokens: -5,
        completionTokens: Infinity,
      });
      metrics.recordAgentRun({
        agentType: 'x',
        status: 'weird' as never,
        durationSeconds: -1,
        steps: NaN,
      });
      metrics.recordToolCall({
        toolName: undefined as never,
        success: true,
        durationSeconds: Infinity,
      });
      metrics.updateTokenBudget({ tenantId: 't', period: 'daily', used: NaN, remaining: Infinity });
    }).not.toThrow();
    const samples = await scrape();
    expect(sampleValue(samples, METRIC.llmTokens, { model: 'unknown', token_type: 'prompt' })).toBe(
      0,
    );
    expect(
      sampleValue(samples, `${METRIC.llmRequestDuration}_count`, { model: 'unknown' }),
    ).toBeUndefined();
    expect(sampleValue(samples, METRIC.agentSteps, { agent_type: 'x' })).toBe(0);
    expect(sampleValue(samples, METRIC.toolCalls, { tool_name: 'unknown', success: 'true' })).toBe(
      1,
    );
    expect(sampleValue(samples, METRIC.tokenBudgetUsed, { tenant_id: 't', period: 'daily' })).toBe(
      0,
    );
  });

  describe('label caps', () => {
    it('keeps 500 distinct model names to the cap plus _other and counts the overflow', async () => {
      const metrics = await service();
      for (let i = 0; i < 500; i++) {
        metrics.recordLlmRequest({
          model: `model-${i}`,
          status: 'success',
          durationSeconds: 0.1,
          promptTokens: 1,
          completionTokens: 2,
        });
      }
      const samples = await scrape();
      expect(samplesOf(samples, METRIC.llmRequests)).toHaveLength(MAX_MODEL_LABEL_VALUES + 1);
      expect(samplesOf(samples, `${METRIC.llmRequestDuration}_count`)).toHaveLength(
        MAX_MODEL_LABEL_VALUES + 1,
      );
      expect(
        sampleValue(samples, METRIC.llmRequests, { model: OVERFLOW_LABEL, status: 'success' }),
      ).toBe(400);
      expect(
        sampleValue(samples, METRIC.llmTokens, { model: OVERFLOW_LABEL, token_type: 'completion' }),
      ).toBe(800);
      for (const metric of [
        METRIC.llmRequests,
        METRIC.llmRequestDuration,
        METRIC.llmTokens,
        METRIC.llmCost,
      ]) {
        expect(sampleValue(samples, METRIC.labelOverflow, { metric })).toBe(400);
      }
    });

    it('keeps 5,000 distinct tenants to METRICS_MAX_TENANTS plus _other, summing the rest', async () => {
      const metrics = await service({ METRICS_MAX_TENANTS: '1000' });
      for (let i = 0; i < 5000; i++) {
        metrics.updateTokenBudget(budget(`tenant-${i}`, 'daily', 10));
        metrics.updateTokenBudget(budget(`tenant-${i}`, 'monthly', 20));
      }
      const samples = await scrape();
      for (const name of [
        METRIC.tokenBudgetRemaining,
        METRIC.tokenBudgetUsed,
        METRIC.tokenBudgetLimit,
      ]) {
        expect(samplesOf(samples, name)).toHaveLength(2 * 1001);
        expect(sampleValue(samples, METRIC.labelOverflow, { metric: name })).toBe(2 * 4000);
      }
      expect(
        sampleValue(samples, METRIC.tokenBudgetUsed, { tenant_id: 'tenant-999', period: 'daily' }),
      ).toBe(10);
      expect(samplesOf(samples, METRIC.tokenBudgetUsed, { tenant_id: 'tenant-1000' })).toHaveLength(
        0,
      );
      // The _other sum covers at most as many folded tenants as the cap (bounded memory).
      expect(
        sampleValue(samples, METRIC.tokenBudgetUsed, {
          tenant_id: OVERFLOW_LABEL,
          period: 'daily',
        }),
      ).toBe(1000 * 10);
      expect(
        sampleValue(samples, METRIC.tokenBudgetLimit, {
          tenant_id: OVERFLOW_LABEL,
          period: 'monthly',
        }),
      ).toBe(1000 * 1000);
    });

    it('replaces a folded tenant’s previous values in the _other sum', async () => {
      const metrics = await service({ METRICS_MAX_TENANTS: '1' });
      metrics.updateTokenBudget(budget('a', 'daily', 1));
      metrics.updateTokenBudget(budget('b', 'daily', 5));
      metrics.updateTokenBudget(budget('c', 'daily', 7));
      metrics.updateTokenBudget(budget('b', 'daily', 6));
      expect(
        sampleValue(await scrape(), METRIC.tokenBudgetUsed, {
          tenant_id: OVERFLOW_LABEL,
          period: 'daily',
        }),
      ).toBe(13);
    });
  });

  describe('budget snapshot provider', () => {
    let metrics: LiveMetricsService;
    afterEach(() => metrics.onApplicationShutdown());

    it('rebuilds the budget gauges from the ledger snapshot on every scrape, once per scrape', async () => {
      metrics = await service();
      let snapshot = [
        budget('t1', 'daily', 100),
        budget('t1', 'monthly', 300, 5000),
        budget('t2', 'daily', 1),
      ];
      const provider = jest.fn(() => Promise.resolve(snapshot));
      metrics.setBudgetSnapshotProvider(provider);
      metrics.updateTokenBudget(budget('gone', 'daily', 5));

      let samples = await scrape();
      expect(provider).toHaveBeenCalledTimes(1);
      expect(
        sampleValue(samples, METRIC.tokenBudgetUsed, { tenant_id: 't1', period: 'monthly' }),
      ).toBe(300);
      expect(
        sampleValue(samples, METRIC.tokenBudgetRemaining, { tenant_id: 't1', period: 'monthly' }),
      ).toBe(4700);
      expect(
        sampleValue(samples, METRIC.tokenBudgetLimit, { tenant_id: 't1', period: 'monthly' }),
      ).toBe(5000);
      expect(samplesOf(samples, METRIC.tokenBudgetUsed, { tenant_id: 'gone' })).toHaveLength(0);

      // A new day: the ledger's new window reads zero, with no traffic in between.
      snapshot = [budget('t1', 'daily', 0), budget('t1', 'monthly', 300, 5000)];
      samples = await scrape();
      expect(provider).toHaveBeenCalledTimes(2);
      expect(
        sampleValue(samples, METRIC.tokenBudgetUsed, { tenant_id: 't1', period: 'daily' }),
      ).toBe(0);
      expect(
        sampleValue(samples, METRIC.tokenBudgetRemaining, { tenant_id: 't1', period: 'daily' }),
      ).toBe(1000);
      expect(samplesOf(samples, METRIC.tokenBudgetUsed, { tenant_id: 't2' })).toHaveLength(0);
    });

    it('keeps the last values when the snapshot fails', async () => {
      metrics = await service();
      metrics.updateTokenBudget(budget('t1', 'daily', 42));
      metrics.setBudgetSnapshotProvider(() => Promise.reject(new Error('redis down')));
      const samples = await scrape();
      expect(
        sampleValue(samples, METRIC.tokenBudgetUsed, { tenant_id: 't1', period: 'daily' }),
      ).toBe(42);
      expect(current?.logs.events('metrics.budget_snapshot.failed')).toEqual([
        expect.objectContaining({
          level: 'warn',
          err: expect.objectContaining({ message: 'redis down' }),
        }),
      ]);
    });

    it('answers the scrape within the bound when the snapshot hangs', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      try {
        metrics = await service();
        metrics.updateTokenBudget(budget('t1', 'daily', 7));
        metrics.setBudgetSnapshotProvider(() => new Promise(() => undefined));
        const rendering = renderMetrics(current!.registry, 'prometheus');
        await jest.advanceTimersByTimeAsync(BUDGET_SNAPSHOT_TIMEOUT_MS);
        const samples = parseExposition(await rendering);
        expect(
          sampleValue(samples, METRIC.tokenBudgetUsed, { tenant_id: 't1', period: 'daily' }),
        ).toBe(7);
      } finally {
        jest.useRealTimers();
      }
    });

    it('folds snapshot tenants past the cap into _other without counting them again', async () => {
      metrics = await service({ METRICS_MAX_TENANTS: '2' });
      metrics.setBudgetSnapshotProvider(() =>
        Promise.resolve(['a', 'b', 'c', 'd'].map((tenant) => budget(tenant, 'daily', 10))),
      );
      const samples = await scrape();
      expect(samplesOf(samples, METRIC.tokenBudgetUsed)).toHaveLength(3);
      expect(
        sampleValue(samples, METRIC.tokenBudgetUsed, {
          tenant_id: OVERFLOW_LABEL,
          period: 'daily',
        }),
      ).toBe(20);
      // Counted in the scrape that folds them, and once: the next scrape folds the same two.
      expect(sampleValue(samples, METRIC.labelOverflow, { metric: METRIC.tokenBudgetUsed })).toBe(
        2,
      );
      expect(
        sampleValue(await scrape(), METRIC.labelOverflow, { metric: METRIC.tokenBudgetUsed }),
      ).toBe(2);
    });

    it('shows when each refused tenant was last refused, and for _other the latest of its tenants', async () => {
      metrics = await service({ METRICS_MAX_TENANTS: '2' });
      const refusedAt: Record<string, number> = {
        b: 1_700_000_100,
        c: 1_700_000_300,
        d: 1_700_000_200,
      };
      metrics.setBudgetSnapshotProvider(() =>
        Promise.resolve(
          ['a', 'b', 'c', 'd'].map((tenant) => ({
            ...budget(tenant, 'daily', 10),
            lastRefusedAt: refusedAt[tenant] ?? 0,
          })),
        ),
      );
      const samples = samplesOf(await scrape(), METRIC.tokenBudgetLastRefused);
      expect(samples.map((sample) => [sample.labels.tenant_id, sample.value]).sort()).toEqual([
        [OVERFLOW_LABEL, 1_700_000_300],
        ['b', 1_700_000_100],
      ]);
    });

    it('stops collecting after shutdown', async () => {
      metrics = await service();
      const provider = jest.fn(() => Promise.resolve([budget('t1', 'daily', 1)]));
      metrics.setBudgetSnapshotProvider(provider);
      metrics.onApplicationShutdown();
      await scrape();
      expect(provider).not.toHaveBeenCalled();
    });
  });

  describe('exemplars', () => {
    let tracing: InMemoryTracing;
    beforeAll(() => {
      tracing = startInMemoryTracing({ LOG_LEVEL: 'silent' });
    });
    afterAll(() => tracing.stop());

    it('attaches the current sampled trace id to duration observations in OpenMetrics', async () => {
      const metrics = await service({ ENABLE_TELEMETRY: 'true' });
      const traceId = await withSpan('run', {}, (span) => {
        metrics.recordLlmRequest({
          model: 'sim-small',
          status: 'success',
          durationSeconds: 0.05,
          promptTokens: 1,
          completionTokens: 1,
        });
        metrics.recordToolCall({ toolName: 'calculator', success: true, durationSeconds: 0.002 });
        metrics.recordAgentRun({
          agentType: 'math_agent',
          status: 'success',
          durationSeconds: 0.3,
          steps: 1,
        });
        return Promise.resolve(span?.spanContext().traceId);
      });
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      const samples = await scrape('openmetrics');
      for (const [name, le] of [
        [METRIC.llmRequestDuration, '0.08'],
        [METRIC.toolDuration, '0.005'],
        [METRIC.agentRunDuration, '0.5'],
      ]) {
        const bucket = samplesOf(samples, `${name}_bucket`, { le });
        expect(bucket).toHaveLength(1);
        expect(bucket[0].exemplar?.labels).toEqual({ trace_id: traceId });
      }
    });

    it('attaches no exemplar outside a span', async () => {
      (await service()).recordToolCall({
        toolName: 'calculator',
        success: true,
        durationSeconds: 0.002,
      });
      const samples = await scrape('openmetrics');
      expect(
        samplesOf(samples, `${METRIC.toolDuration}_bucket`).filter((s) => s.exemplar),
      ).toHaveLength(0);
    });
  });
});
