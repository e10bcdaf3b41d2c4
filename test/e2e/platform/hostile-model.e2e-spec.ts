import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator, ScriptedAnswer, ScriptRequest } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { chatRequests } from '../../helpers/llm-simulator';
import { captureLogs } from '../../helpers/log-capture';
import type { LogCapture } from '../../helpers/log-capture';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
} from '../../helpers/platform';

/** About 20,000 completion tokens: what a model told to "write everything" sends back. */
const VERBOSE = 'lorem '.repeat(13_334);
const SECRET_WORD = 'ZEBRAFISH7731';

const verbose = (): ScriptedAnswer => ({ kind: 'text', content: VERBOSE });

/** Asks for kb_search whatever it was offered, then repeats whatever the tool answered. */
function snoop(request: ScriptRequest): ScriptedAnswer {
  const toolResult = [...request.messages].reverse().find((message) => message.role === 'tool');
  if (toolResult) return { kind: 'text', content: `The tool said: ${String(toolResult.content)}` };
  return { kind: 'tool_calls', calls: [{ name: 'kb_search', arguments: { query: 'zebrafish' } }] };
}

/**
 * A model that misbehaves on purpose (a scripted simulator), against the real
 * app, PostgreSQL and Redis: the budget is a hard cap, the agent's tool list is
 * a permission, and the model's bad text is cleaned instead of failing the run.
 */
describe('a hostile model', () => {
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: TestApp;
  let logs: LogCapture;

  beforeAll(async () => {
    [sim, db] = await Promise.all([startLlmSimulator(), createTestDatabase('hostile_model')]);
    logs = captureLogs();
    app = await startTestApp(
      {
        DATABASE_URL: db.url,
        REDIS_URL: 'redis://127.0.0.1:6379',
        LLM_PROXY_URL: sim.url,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      { logDestination: logs.destination },
    );
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([sim?.close(), db?.drop()]);
  });
  afterEach(() => {
    sim.setScript(undefined);
    sim.setOptions({ ignoreMaxTokens: false, latencyMs: 0 });
    sim.clearRequests();
    logs.clear();
  });

  describe('the token budget', () => {
    it('caps spend however much the model writes: 10 runs at once stay within a daily 3,000', async () => {
      sim.setScript(verbose);
      // Every call in flight at once: all ten reserve before any answer comes back.
      sim.setOptions({ latencyMs: 300 });
      const tenant = await createTenant(app.url, { name: 'verbose', daily: 3000 });
      const agent = await createAgent(app.url, tenant.key, { tools: [] });
      const runs = await Promise.all(
        Array.from({ length: 10 }, () => runAgent(app.url, tenant.key, agent.id, 'Write it all')),
      );
      const budget = await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
      expect(budget.body.daily.limit).toBe(3000);
      expect(budget.body.daily.used).toBeLessThanOrEqual(3000);
      expect(budget.body.daily.used).toBeGreaterThan(2000);
      const statuses = runs.map((run) => run.status).sort();
      expect(statuses).toContain(201);
      expect(statuses).toContain(429);
      // The model was never asked for more than the budget could pay for.
      const sent = chatRequests(sim).map((req) => req.body as { max_tokens?: unknown });
      expect(sent.length).toBeGreaterThan(0);
      for (const body of sent) {
        expect(body.max_tokens).toEqual(expect.any(Number));
        expect(body.max_tokens as number).toBeGreaterThanOrEqual(16);
        expect(body.max_tokens as number).toBeLessThanOrEqual(3000);
      }
      // The refused runs were refused before any call: one request per answered run.
      expect(sent).toHaveLength(runs.filter((run) => run.status === 201).length);
    });

    it("caps each answer at the agent's max_output_tokens", async () => {
      sim.setScript(verbose);
      const tenant = await createTenant(app.url, { name: 'capped' });
      const agent = await createAgent(app.url, tenant.key, { tools: [], max_output_tokens: 200 });
      expect(agent.max_output_tokens).toBe(200);
      const run = await runAgent(app.url, tenant.key, agent.id, 'Write it all');
      expect(run.status).toBe(201);
      expect(run.body.usage.completion_tokens).toBe(200);
      expect((chatRequests(sim)[0].body as { max_tokens: number }).max_tokens).toBe(200);
    });

    it('settles a proxy that ignores the bound at the real number, logs and counts the overrun', async () => {
      sim.setScript(verbose);
      sim.setOptions({ ignoreMaxTokens: true });
      app.resetMetrics();
      const tenant = await createTenant(app.url, { name: 'overrun' });
      const agent = await createAgent(app.url, tenant.key, {
        tools: [],
        model: 'gpt-4o-mini',
        max_output_tokens: 100,
      });
      const run = await runAgent(app.url, tenant.key, agent.id, 'Write it all');
      expect(run.status).toBe(201);
      const completion = run.body.usage.completion_tokens as number;
      expect(completion).toBeGreaterThan(19_000);
      const budget = await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
      expect(budget.body.daily.used).toBe(run.body.usage.total_tokens);
      expect(logs.events('budget.overrun')).toEqual([
        expect.objectContaining({
          level: 'warn',
          tenant_id: tenant.id,
          model: 'gpt-4o-mini',
          max_tokens: 100,
          completion_tokens: completion,
          overrun_tokens: completion - 100,
        }),
      ]);
      const { samples } = await scrapeMetrics(app.url);
      expect(
        sampleValue(samples, 'token_budget_overrun_tokens_total', { model: 'gpt-4o-mini' }),
      ).toBe(completion - 100);
    });
  });

  describe("the agent's tool list", () => {
    let tenantKey: string;
    beforeAll(async () => {
      const tenant = await createTenant(app.url, { name: 'zoo' });
      tenantKey = tenant.key;
      const doc = await request(app.url, 'POST', '/v1/documents', {
        key: tenantKey,
        body: { title: 'Aquarium notes', content: `The zebrafish code is ${SECRET_WORD}.` },
      });
      expect(doc.status).toBe(201);
    });

    const sentToModel = () => JSON.stringify(chatRequests(sim).map((req) => req.body));

    it('is a permission: a tool the agent does not list never runs, and its data never reaches the model', async () => {
      sim.setScript(snoop);
      app.resetMetrics();
      const agent = await createAgent(app.url, tenantKey, { tools: ['calculator'] });
      const run = await runAgent(app.url, tenantKey, agent.id, 'What is 2+2?');
      expect(run.status).toBe(201);
      expect(run.body.status).toBe('success');
      expect(run.body.output).toBe(
        'The tool said: Error: tool kb_search is not available to this agent',
      );
      expect(run.body.output).not.toContain(SECRET_WORD);
      expect(sentToModel()).not.toContain(SECRET_WORD);
      expect(logs.events('tool.execute.refused')).toEqual([
        expect.objectContaining({
          level: 'warn',
          tool_name: 'kb_search',
          reason: 'not_allowed',
        }),
      ]);
      expect(logs.events('tool.execute.completed')).toEqual([]);
      const { samples } = await scrapeMetrics(app.url);
      expect(
        sampleValue(samples, 'tool_calls_total', { tool_name: 'kb_search', success: 'false' }),
      ).toBe(1);
    });

    it('(the same model, with kb_search listed, does reach the document: the scenario is real)', async () => {
      sim.setScript(snoop);
      const agent = await createAgent(app.url, tenantKey, { tools: ['calculator', 'kb_search'] });
      const run = await runAgent(app.url, tenantKey, agent.id, 'What is 2+2?');
      expect(run.body.output).toContain(SECRET_WORD);
      expect(sentToModel()).toContain(SECRET_WORD);
    });
  });

  describe('bad text from the model', () => {
    it('is cleaned before it is stored: the run finishes and reads back as it was answered', async () => {
      sim.setScript(() => ({ kind: 'text', content: 'Hello\u0000World \uD800 done' }));
      const tenant = await createTenant(app.url, { name: 'nul' });
      const agent = await createAgent(app.url, tenant.key, { tools: [] });
      const run = await runAgent(app.url, tenant.key, agent.id, 'Say hello');
      expect(run.status).toBe(201);
      expect(run.body.status).toBe('success');
      expect(run.body.output).toBe('Hello\uFFFDWorld \uFFFD done');
      const stored = await request(app.url, 'GET', `/v1/runs/${run.body.id}`, { key: tenant.key });
      expect(stored.body).toEqual(run.body);
      expect(logs.lines().filter((line) => line.level === 'error')).toEqual([]);
    });

    it('in a kb_search query is a tool error the model is told about, not a crash', async () => {
      sim.setScript((req) =>
        req.messages.some((message) => message.role === 'tool')
          ? undefined
          : {
              kind: 'tool_calls',
              calls: [{ name: 'kb_search', arguments: { query: 'a\u0000b' } }],
            },
      );
      const tenant = await createTenant(app.url, { name: 'nulsearch' });
      const agent = await createAgent(app.url, tenant.key, { tools: ['kb_search'] });
      const run = await runAgent(app.url, tenant.key, agent.id, 'Search it');
      expect(run.status).toBe(201);
      const toolMessage = (
        chatRequests(sim)[1].body as { messages: { role: string; content: string }[] }
      ).messages.find((message) => message.role === 'tool');
      expect(toolMessage?.content).toBe('Error: "query" must not contain NUL characters');
      expect(logs.events('tool.execute.crashed')).toEqual([]);
    });
  });
});
