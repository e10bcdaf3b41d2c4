import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { OTLP_SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from '../../helpers/otlp-receiver';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
} from '../../helpers/platform';
import { ensureAppBuilt, spawnApp, type SpawnedApp } from '../../helpers/spawn-app';
import { waitFor } from '../../helpers/wait-for';

const RATIO = 0.5;
const RUNS = 60;
const CHEAP = 60;

/**
 * At a ratio between 0 and 1 (0.5, for the statistics; the chart's default is
 * 0.1), a request is traced whole or not at all: the built app with the real
 * SDK, exporting to an in-suite OTLP receiver, PostgreSQL and Redis work in
 * every run.
 */
describe(`tracing at TRACE_SAMPLE_RATIO=${RATIO}`, () => {
  let receiver: OtlpReceiver;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: SpawnedApp;
  const runs: { requestId: string; runId: string; traceId: string | null }[] = [];
  let cheapRequests = 0;
  let tenantKey = '';

  beforeAll(async () => {
    await ensureAppBuilt();
    [receiver, sim, db] = await Promise.all([
      startOtlpReceiver(),
      startLlmSimulator(),
      createTestDatabase('sampling_ratio'),
    ]);
    app = await spawnApp({
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      ENABLE_TELEMETRY: 'true',
      TRACE_SAMPLE_RATIO: String(RATIO),
      OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    const tenant = await createTenant(app.url, { name: 'acme', userId: 'alice' });
    tenantKey = tenant.key;
    const document = await request(app.url, 'POST', '/v1/documents', {
      key: tenant.key,
      body: { title: 'Refund policy', content: 'Refunds are paid within five business days.' },
    });
    expect(document.status).toBe(201);
    const agent = await createAgent(app.url, tenant.key, { tools: ['calculator', 'kb_search'] });
    receiver.clear();
    for (let i = 0; i < RUNS; i++) {
      // Tool calls, PostgreSQL (runs, the knowledge base) and Redis (the budget ledger) in every run.
      const input =
        i % 2 === 0 ? `What is (${i}+3)*4?` : 'What does the knowledge base say about refunds?';
      const res = await runAgent(app.url, tenant.key, agent.id, input);
      expect(res.status).toBe(201);
      runs.push({
        requestId: res.headers.get('x-request-id') ?? '',
        runId: res.body.id,
        traceId: res.body.trace_id,
      });
      await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
      cheapRequests++;
    }
    for (let i = 0; i < CHEAP; i++) {
      await request(app.url, 'GET', '/v1/info');
      cheapRequests++;
    }
    // Every sampled request's server span arrives; then nothing more for a moment.
    const sampledRuns = runs.filter((run) => run.traceId !== null).length;
    await receiver.waitForSpans(
      (spans) =>
        spans.filter((span) => span.name === 'POST /v1/agents/:id/runs').length === sampledRuns,
      20_000,
    );
    let seen = -1;
    await waitFor(
      () => {
        const now = receiver.spans.length;
        const settled = now === seen;
        seen = now;
        return settled;
      },
      { timeoutMs: 10_000, intervalMs: 500 },
    );
  }, 300_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([receiver?.stop(), sim?.close(), db?.drop()]);
  });

  function traces(): Map<string, (typeof receiver.spans)[number][]> {
    const byTrace = new Map<string, (typeof receiver.spans)[number][]>();
    for (const span of receiver.spans) {
      byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
    }
    return byTrace;
  }

  it('exports no orphan tree: every exported trace holds its SERVER root span', () => {
    const orphans = [...traces()]
      .filter(
        ([, spans]) => !spans.some((s) => s.kind === OTLP_SPAN_KIND.server && !s.parentSpanId),
      )
      .map(([traceId, spans]) => `${traceId}: ${spans.map((s) => s.name).join(', ')}`);
    expect(orphans).toEqual([]);
    expect(traces().size).toBeGreaterThan(0);
  });

  it('links a stored run to a trace exactly when its trace was exported, whole', async () => {
    for (const run of runs) {
      const stored = await request(app.url, 'GET', `/v1/runs/${run.runId}`, { key: tenantKey });
      expect(stored.body.trace_id).toBe(run.traceId);
    }
    const runTraceIds = new Set(runs.map((run) => run.traceId).filter((id) => id !== null));
    const agentTraces = new Set(
      receiver.spans.filter((s) => s.name.startsWith('invoke_agent ')).map((s) => s.traceId),
    );
    expect([...agentTraces].sort()).toEqual([...runTraceIds].sort());
    for (const traceId of runTraceIds) {
      const names = receiver.trace(traceId).map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'POST /v1/agents/:id/runs',
          expect.stringMatching(/^invoke_agent /),
          expect.stringMatching(/^chat /),
          expect.stringMatching(/^execute_tool /),
        ]),
      );
    }
  });

  it("gives every agent.execute.* line its run's trace id, and none to an unsampled run's", () => {
    const byRequest = new Map(runs.map((run) => [run.requestId, run]));
    const lines = app
      .jsonLogs()
      .filter((line) => String(line.event).startsWith('agent.execute.'))
      .filter((line) => byRequest.has(String(line.request_id)));
    expect(lines.length).toBe(RUNS * 2);
    for (const line of lines) {
      expect({ request_id: line.request_id, trace_id: line.trace_id ?? null }).toEqual({
        request_id: line.request_id,
        trace_id: byRequest.get(String(line.request_id))?.traceId ?? null,
      });
    }
  });

  it('samples a share of requests within statistical bounds of the ratio', () => {
    const total = RUNS + cheapRequests;
    // The traffic of beforeAll only: the set-up and the other tests' reads are requests too.
    const traffic = new Set(['POST /v1/agents/:id/runs', 'GET /v1/budget', 'GET /v1/info']);
    const sampled = receiver.spans.filter(
      (s) => s.kind === OTLP_SPAN_KIND.server && !s.parentSpanId && traffic.has(s.name),
    ).length;
    // Binomial(n, 0.5): 4.5 standard deviations either side fail by chance about once in 150,000 runs.
    const sd = Math.sqrt(total * RATIO * (1 - RATIO));
    expect(Math.abs(sampled - total * RATIO)).toBeLessThanOrEqual(4.5 * sd);
  });
});
