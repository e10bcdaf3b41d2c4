import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';

// The embedded database here: the integration tests cover PostgreSQL and PGlite search alike.
describe('documents API', () => {
  let sim: LlmSimulator;
  let app: TestApp;
  let acme: TestTenant;
  let globex: TestTenant;

  beforeAll(async () => {
    sim = await startLlmSimulator();
    app = await startTestApp({ LLM_PROXY_URL: sim.url, ADMIN_API_KEY: TEST_ADMIN_KEY });
    acme = await createTenant(app.url, { name: 'acme' });
    globex = await createTenant(app.url, { name: 'globex' });
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
  });

  const post = (tenant: TestTenant, body: unknown) =>
    request(app.url, 'POST', '/v1/documents', { key: tenant.key, body });
  const list = (tenant: TestTenant, query = '') =>
    request(app.url, 'GET', `/v1/documents${query}`, { key: tenant.key });

  it('stores a document and answers 201 with its snake_case fields', async () => {
    const res = await post(acme, {
      title: 'Refund policy',
      content: 'Refunds are paid within five business days of the request.',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: 'Refund policy',
      content: 'Refunds are paid within five business days of the request.',
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
    });
  });

  it("lists only the caller's documents, newest first, bounded by limit", async () => {
    await post(acme, { title: 'Shipping', content: 'Orders ship within two days.' });
    await post(globex, { title: 'Globex refunds', content: 'Globex refunds are secret.' });

    const acmeDocs = await list(acme);
    expect(acmeDocs.status).toBe(200);
    expect(acmeDocs.body.map((doc: { title: string }) => doc.title)).toEqual([
      'Shipping',
      'Refund policy',
    ]);
    const limited = await list(acme, '?limit=1');
    expect(limited.body.map((doc: { title: string }) => doc.title)).toEqual(['Shipping']);
    const globexDocs = await list(globex);
    expect(globexDocs.body.map((doc: { title: string }) => doc.title)).toEqual(['Globex refunds']);
  });

  it.each([
    ['a missing title', { content: 'x' }, 'title'],
    ['an empty title', { title: '', content: 'x' }, 'title'],
    ['a blank title', { title: '   ', content: 'x' }, 'title must not be blank'],
    ['a 201-character title', { title: 't'.repeat(201), content: 'x' }, 'title'],
    ['empty content', { title: 'Doc', content: '' }, 'content'],
    ['numeric content', { title: 'Doc', content: 42 }, 'content'],
    ['content over 100,000 characters', { title: 'Doc', content: 'c'.repeat(100_001) }, 'content'],
    [
      'a client-supplied tenant_id',
      { title: 'Doc', content: 'x', tenant_id: '00000000-0000-0000-0000-000000000000' },
      'tenant_id',
    ],
  ])('rejects %s with 400 naming the field', async (_case, body, field) => {
    const res = await post(acme, body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(field);
  });

  it('accepts content at the 100,000-character limit', async () => {
    const res = await post(acme, { title: 'Long', content: 'word '.repeat(20_000) });
    expect(res.status).toBe(201);
  });

  it.each(['?limit=0', '?limit=201', '?limit=ten', '?offset=5'])(
    'rejects the list query %s with 400',
    async (query) => {
      expect((await list(acme, query)).status).toBe(400);
    },
  );

  it('answers 401 without a valid key, for both routes', async () => {
    expect((await request(app.url, 'GET', '/v1/documents')).status).toBe(401);
    expect(
      (await request(app.url, 'POST', '/v1/documents', { body: { title: 't', content: 'c' } }))
        .status,
    ).toBe(401);
    expect((await request(app.url, 'GET', '/v1/documents', { key: 'eap_not-a-key' })).status).toBe(
      401,
    );
  });

  it("lets an agent's kb_search read only its own tenant's documents", async () => {
    const agent = await createAgent(app.url, acme.key, { tools: ['kb_search'] });
    const run = await runAgent(
      app.url,
      acme.key,
      agent.id,
      'Search the knowledge base for refunds',
    );
    expect(run.status).toBe(201);
    expect(run.body.status).toBe('success');
    expect(run.body.output).toContain('Refund policy');
    expect(run.body.output).not.toContain('Globex');
    const toolResult = sim.requests
      .flatMap(
        (req) => (req.body as { messages?: { role: string; content: string }[] }).messages ?? [],
      )
      .filter((message) => message.role === 'tool')
      .map((message) => message.content)
      .join('\n');
    expect(toolResult).toContain('Refund policy');
    expect(toolResult).not.toContain('Globex');
  });
});
