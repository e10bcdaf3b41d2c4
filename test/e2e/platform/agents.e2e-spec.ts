import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('agent platform API', () => {
  let db: TestDatabase;
  let sim: LlmSimulator;
  let app: TestApp;
  let acme: TestTenant;
  let globex: TestTenant;

  beforeAll(async () => {
    db = await createTestDatabase('platform');
    sim = await startLlmSimulator();
    app = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      LLM_TIMEOUT_MS: '1500',
      LLM_MAX_RETRIES: '1',
    });
    acme = await createTenant(app.url, { name: 'acme', userId: 'alice' });
    globex = await createTenant(app.url, { name: 'globex' });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  beforeEach(() =>
    sim.setOptions({ hang: false, errorRate: 0, failNext: 0, omitUsage: false, toolLoop: false }),
  );

  describe('tenants and keys', () => {
    it('creates a tenant with a one-time key bound to the default user', async () => {
      const res = await request(app.url, 'POST', '/v1/tenants', {
        key: TEST_ADMIN_KEY,
        body: { name: 'initech', daily_token_limit: 5000, monthly_token_limit: 90000 },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        tenant: {
          id: expect.any(String),
          name: 'initech',
          daily_token_limit: 5000,
          monthly_token_limit: 90000,
        },
        api_key: expect.stringMatching(/^eap_[A-Za-z0-9_-]{43}$/),
      });
      const budget = await request(app.url, 'GET', '/v1/budget', { key: res.body.api_key });
      expect(budget.status).toBe(200);
      expect(budget.body.tenant_id).toBe(res.body.tenant.id);
    });

    it('issues further keys bound to a user', async () => {
      const res = await request(app.url, 'POST', `/v1/tenants/${acme.id}/api-keys`, {
        key: TEST_ADMIN_KEY,
        body: { user_id: 'bob' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ api_key: expect.stringMatching(/^eap_/), user_id: 'bob' });
      expect((await request(app.url, 'GET', '/v1/agents', { key: res.body.api_key })).status).toBe(
        200,
      );
    });

    it('answers 404 for keys of an unknown tenant', async () => {
      const res = await request(
        app.url,
        'POST',
        '/v1/tenants/00000000-0000-0000-0000-000000000000/api-keys',
        {
          key: TEST_ADMIN_KEY,
          body: { user_id: 'bob' },
        },
      );
      expect(res.status).toBe(404);
    });

    it.each([
      ['no key', undefined],
      ['a wrong key', 'not-the-admin-key'],
      ['a tenant key', 'tenant'],
    ])('refuses admin calls with %s (401)', async (_label, key) => {
      const res = await request(app.url, 'POST', '/v1/tenants', {
        key: key === 'tenant' ? acme.key : key,
        body: { name: 'x', daily_token_limit: 1, monthly_token_limit: 1 },
      });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        statusCode: 401,
        error: 'Unauthorized',
        request_id: expect.any(String),
      });
    });

    it.each([
      ['missing', {}],
      ['malformed', { authorization: 'Basic abc' }],
      ['unknown', { authorization: 'Bearer eap_unknown' }],
    ])('refuses tenant calls with a %s key (401)', async (_label, headers) => {
      const res = await request(app.url, 'GET', '/v1/agents', { headers });
      expect(res.status).toBe(401);
    });

    it('ignores client headers that claim another tenant', async () => {
      const res = await request(app.url, 'GET', '/v1/budget', {
        key: acme.key,
        headers: { 'x-tenant-id': globex.id, 'x-user-id': 'mallory' },
      });
      expect(res.body.tenant_id).toBe(acme.id);
    });
  });

  describe('agents', () => {
    it('creates, lists and reads an agent', async () => {
      const agent = await createAgent(app.url, acme.key, {
        name: 'Lister',
        tools: ['calculator'],
        max_steps: 3,
      });
      expect(agent).toMatchObject({
        name: 'Lister',
        type: 'math_agent',
        model: 'sim-small',
        tools: ['calculator'],
        max_steps: 3,
      });
      const list = await request(app.url, 'GET', '/v1/agents', { key: acme.key });
      expect(list.body.map((a: { id: string }) => a.id)).toContain(agent.id);
      const one = await request(app.url, 'GET', `/v1/agents/${agent.id}`, { key: acme.key });
      expect(one.body).toEqual(agent);
    });

    it.each([
      ['an unknown tool', { tools: ['shell'] }, 'tools'],
      ['max_steps above 50', { max_steps: 51 }, 'max_steps'],
      ['max_steps of 0', { max_steps: 0 }, 'max_steps'],
      ['an empty model', { model: '' }, 'model'],
      ['a numeric name', { name: 42 }, 'name'],
      ['an unknown field', { temperature: 2 }, 'temperature'],
      ['a type with spaces', { type: 'rag agent' }, 'type'],
    ])('rejects %s with a 400 naming the field', async (_label, overrides, field) => {
      const res = await request(app.url, 'POST', '/v1/agents', {
        key: acme.key,
        body: {
          name: 'x',
          type: 'math_agent',
          model: 'sim-small',
          tools: [],
          max_steps: 3,
          ...overrides,
        },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(field);
    });

    it('rejects malformed JSON with 400', async () => {
      const res = await request(app.url, 'POST', '/v1/agents', {
        key: acme.key,
        body: '{"name": ',
      });
      expect(res.status).toBe(400);
      expect(res.body.statusCode).toBe(400);
    });

    it('rejects a body over 1 MiB with 413', async () => {
      const res = await request(app.url, 'POST', '/v1/agents', {
        key: acme.key,
        body: { name: 'x'.repeat(1024 * 1024 + 10), type: 'a', model: 'm' },
      });
      expect(res.status).toBe(413);
      expect(res.body.statusCode).toBe(413);
    });

    it("answers 404 for another tenant's agent and for malformed ids", async () => {
      const agent = await createAgent(app.url, acme.key);
      expect(
        (await request(app.url, 'GET', `/v1/agents/${agent.id}`, { key: globex.key })).status,
      ).toBe(404);
      expect((await runAgent(app.url, globex.key, agent.id, 'What is 1+1?')).status).toBe(404);
      expect(
        (await request(app.url, 'GET', '/v1/agents/not-a-uuid', { key: acme.key })).status,
      ).toBe(404);
    });
  });

  describe('runs', () => {
    it('runs the loop with a calculator call and stores the run', async () => {
      const agent = await createAgent(app.url, acme.key);
      const res = await runAgent(app.url, acme.key, agent.id, 'What is (2+3)*4?');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(String),
        agent_id: agent.id,
        status: 'success',
        steps: 2,
        error: null,
        error_type: null,
        duration_ms: expect.any(Number),
      });
      expect(res.body.output).toContain('20');
      expect(res.body.usage.total_tokens).toBe(
        res.body.usage.prompt_tokens + res.body.usage.completion_tokens,
      );
      expect(res.body.usage.prompt_tokens).toBeGreaterThan(0);
      const stored = await request(app.url, 'GET', `/v1/runs/${res.body.id}`, { key: acme.key });
      expect(stored.body).toEqual(res.body);
      expect(
        (await request(app.url, 'GET', `/v1/runs/${res.body.id}`, { key: globex.key })).status,
      ).toBe(404);
    });

    it('feeds a failing tool back to the model and goes on', async () => {
      const agent = await createAgent(app.url, acme.key);
      const res = await runAgent(app.url, acme.key, agent.id, 'What is 1/0?');
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('success');
      const toolMessage = sim.requests
        .flatMap(
          (r) => (r.body as { messages?: { role: string; content: string }[] })?.messages ?? [],
        )
        .find((m) => m.role === 'tool' && /division by zero/i.test(m.content));
      expect(toolMessage).toBeDefined();
    });

    it('treats code in a calculator expression as a tool error, not a crash', async () => {
      const agent = await createAgent(app.url, acme.key);
      const res = await runAgent(app.url, acme.key, agent.id, 'What is process.exit(1) + 2?');
      expect(res.status).toBe(201);
      expect((await fetch(`${app.url}/v1/info`)).status).toBe(200);
    });

    it('stops at max_steps', async () => {
      sim.setOptions({ toolLoop: true });
      const agent = await createAgent(app.url, acme.key, { max_steps: 2 });
      const res = await runAgent(app.url, acme.key, agent.id, 'What is 2+2?');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'max_steps', steps: 2, error_type: null });
    });

    it('counts estimated usage when the proxy reports none', async () => {
      sim.setOptions({ omitUsage: true });
      const agent = await createAgent(app.url, acme.key);
      const res = await runAgent(app.url, acme.key, agent.id, 'Say hello');
      expect(res.status).toBe(201);
      expect(res.body.usage).toMatchObject({ estimated: true, total_tokens: expect.any(Number) });
      expect(res.body.usage.total_tokens).toBeGreaterThan(0);
    });

    it.each([
      ['answering 500', { errorRate: 1, failureStatus: 500 }, 'http_500'],
      ['hung past the timeout', { hang: true }, 'timeout'],
    ])(
      'stores the run as error and answers 502 when the LLM proxy is %s',
      async (_label, behaviour, errorType) => {
        sim.setOptions(behaviour);
        const agent = await createAgent(app.url, acme.key);
        const res = await runAgent(app.url, acme.key, agent.id, 'What is 2+2?');
        expect(res.status).toBe(502);
        expect(res.body).toMatchObject({
          statusCode: 502,
          error: 'Bad Gateway',
          run: { status: 'error', error_type: errorType },
        });
        expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
        const stored = await request(app.url, 'GET', `/v1/runs/${res.body.run.id}`, {
          key: acme.key,
        });
        expect(stored.body).toMatchObject({ status: 'error', error_type: errorType });
        expect(stored.body.error).toEqual(expect.any(String));
      },
    );

    it('keeps /v1/budget equal to the sum of the runs’ usage', async () => {
      const tenant = await createTenant(app.url, { name: 'ledger' });
      const agent = await createAgent(app.url, tenant.key);
      let total = 0;
      for (const input of ['What is 3*7?', 'Hello there', 'What is 10-4?']) {
        const res = await runAgent(app.url, tenant.key, agent.id, input);
        expect(res.status).toBe(201);
        total += res.body.usage.total_tokens;
      }
      const budget = await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
      expect(budget.body).toEqual({
        tenant_id: tenant.id,
        daily: {
          limit: 1_000_000,
          used: total,
          remaining: 1_000_000 - total,
          resets_at: expect.any(String),
        },
        monthly: {
          limit: 10_000_000,
          used: total,
          remaining: 10_000_000 - total,
          resets_at: expect.any(String),
        },
      });
      const resets = new Date(budget.body.daily.resets_at);
      expect(resets.getUTCHours()).toBe(0);
      expect(new Date(budget.body.monthly.resets_at).getUTCDate()).toBe(1);
    });

    it('stops a run as budget_exceeded with 429 and Retry-After', async () => {
      const tenant = await createTenant(app.url, { name: 'tight', daily: 600, monthly: 100_000 });
      const agent = await createAgent(app.url, tenant.key);
      let last = await runAgent(app.url, tenant.key, agent.id, 'What is 1+1?');
      for (let i = 0; i < 10 && last.status !== 429; i++)
        last = await runAgent(app.url, tenant.key, agent.id, 'What is 1+1?');
      expect(last.status).toBe(429);
      expect(last.body).toMatchObject({
        statusCode: 429,
        run: { status: 'budget_exceeded', error_type: 'budget_exceeded' },
      });
      const retryAfter = Number(last.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
    });
  });
});
