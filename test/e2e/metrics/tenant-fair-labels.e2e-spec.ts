import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY } from '../../helpers/platform';

const JUNK = 110;

/** One tenant minting label values cannot push another tenant's models and agent types into _other. */
describe('label caps shared by many tenants', () => {
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    [sim, db] = await Promise.all([startLlmSimulator(), createTestDatabase('fair_labels')]);
    app = await startTestApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([sim?.close(), db?.drop()]);
  });

  it("keeps the second tenant's catalog model and new agent type under their own labels", async () => {
    const junk = await createTenant(app.url, { name: 'junk' });
    for (let i = 0; i < JUNK; i++) {
      const agent = await createAgent(app.url, junk.key, {
        model: `junk-model-${i}`,
        type: `junk_type_${i}`,
        tools: [],
      });
      expect((await runAgent(app.url, junk.key, agent.id, 'Hello')).status).toBe(201);
    }
    const acme = await createTenant(app.url, { name: 'acme' });
    const agent = await createAgent(app.url, acme.key, {
      model: 'claude-sonnet-4-5',
      type: 'support_agent',
      tools: [],
    });
    expect((await runAgent(app.url, acme.key, agent.id, 'Hello')).status).toBe(201);

    const { samples } = await scrapeMetrics(app.url);
    const model = { model: 'claude-sonnet-4-5' };
    expect(sampleValue(samples, 'llm_requests_total', { ...model, status: 'success' })).toBe(1);
    expect(sampleValue(samples, 'llm_request_duration_seconds_count', model)).toBe(1);
    expect(sampleValue(samples, 'llm_cost_usd_total', model)).toBeGreaterThan(0);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'support_agent',
        status: 'success',
      }),
    ).toBe(1);
    // The junk tenant's own first values keep theirs; the rest fold, counted.
    expect(
      sampleValue(samples, 'llm_requests_total', { model: 'junk-model-9', status: 'success' }),
    ).toBe(1);
    expect(sampleValue(samples, 'llm_requests_total', { model: '_other', status: 'success' })).toBe(
      JUNK - 10,
    );
    expect(
      sampleValue(samples, 'metrics_label_overflow_total', { metric: 'llm_requests_total' }),
    ).toBe(JUNK - 10);
    expect(
      sampleValue(samples, 'metrics_label_overflow_total', {
        metric: 'agent_run_duration_seconds',
      }),
    ).toBe(JUNK - 10);
    // Unknown tool names never mint a series: they are one label by construction.
    expect(
      samples.filter(
        (s) => s.name === 'tool_calls_total' && s.labels.tool_name?.startsWith('junk'),
      ),
    ).toEqual([]);
  }, 120_000);
});
