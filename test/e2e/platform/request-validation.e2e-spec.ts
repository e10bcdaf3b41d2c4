import { startTestApp, TestApp } from '../../helpers/app';
import { captureLogs } from '../../helpers/log-capture';
import type { LogCapture } from '../../helpers/log-capture';
import {
  createAgent,
  createTenant,
  request,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';

/** 400 answers a client can act on: each says what to send instead. */
describe('request validation messages', () => {
  let app: TestApp;
  let acme: TestTenant;
  let logs: LogCapture;

  beforeAll(async () => {
    logs = captureLogs();
    app = await startTestApp(
      { ADMIN_API_KEY: TEST_ADMIN_KEY, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      { logDestination: logs.destination },
    );
    acme = await createTenant(app.url, { name: 'acme' });
  });
  afterAll(() => app?.close());

  it('asks for JSON when a body comes form-encoded', async () => {
    const res = await request(app.url, 'POST', '/v1/documents', {
      key: acme.key,
      body: 'title=a&content=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({
      statusCode: 415,
      message: expect.stringContaining('send Content-Type: application/json'),
    });
    expect(res.body.message).not.toContain('should not exist');
  });

  it('asks for JSON when a JSON body comes as text/plain', async () => {
    const res = await request(app.url, 'POST', '/v1/documents', {
      key: acme.key,
      body: JSON.stringify({ title: 'a', content: 'b' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
    expect(res.body.message).toContain('send Content-Type: application/json');
  });

  it.each(['__proto__', 'constructor'])('names a %s key as not allowed', async (key) => {
    const res = await request(app.url, 'POST', '/v1/documents', {
      key: acme.key,
      body: `{"title":"a","content":"b","${key}":{"prototype":{"polluted":true},"polluted":true}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(`"${key}"`);
    expect(res.body.message).toContain('not allowed');
    expect(res.body.message).not.toContain('not valid JSON');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('still calls malformed JSON malformed', async () => {
    const res = await request(app.url, 'POST', '/v1/documents', {
      key: acme.key,
      body: '{"title":',
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/not valid JSON/i);
  });

  it.each([
    ['a number in a string', '"5"'],
    ['a fraction', '2.5'],
    ['a word', '"many"'],
  ])('says max_steps must be an integer for %s', async (_case, value) => {
    const res = await request(app.url, 'POST', '/v1/agents', {
      key: acme.key,
      body: `{"name":"a","type":"t","model":"m","max_steps":${value}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('max_steps must be an integer from 1 to 50');
  });

  it('says max_steps is out of range for an integer outside it', async () => {
    const res = await request(app.url, 'POST', '/v1/agents', {
      key: acme.key,
      body: { name: 'a', type: 't', model: 'm', max_steps: 51 },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('max_steps must be an integer from 1 to 50');
  });

  it.each(['abc', '1.5', '', '-3', '1e3'])('says ?limit=%s must be an integer', async (limit) => {
    const res = await request(app.url, 'GET', `/v1/documents?limit=${limit}`, { key: acme.key });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('limit must be an integer from 1 to 200');
  });

  it('accepts ?limit=200', async () => {
    const res = await request(app.url, 'GET', '/v1/documents?limit=200', { key: acme.key });
    expect(res.status).toBe(200);
  });

  describe('client text that cannot be stored as written', () => {
    // JSON escapes, as a client sends them: a raw NUL is not valid JSON, and fetch would turn a raw
    // lone surrogate into U+FFFD before it left.
    const NUL = '\\u0000';
    const LONE_SURROGATE = '\\ud800';
    let agentId: string;
    beforeAll(async () => {
      agentId = (await createAgent(app.url, acme.key, { tools: [] })).id;
    });

    const cases: [string, string, string, (text: string) => string][] = [
      ['POST', '/v1/documents', 'title', (t) => `{"title":"a${t}b","content":"c"}`],
      ['POST', '/v1/documents', 'content', (t) => `{"title":"a","content":"c${t}"}`],
      ['POST', '/v1/agents', 'name', (t) => `{"name":"a${t}","type":"t","model":"m"}`],
      ['POST', '/v1/agents', 'model', (t) => `{"name":"a","type":"t","model":"m${t}"}`],
      [
        'POST',
        '/v1/agents',
        'instructions',
        (t) => `{"name":"a","type":"t","model":"m","instructions":"be ${t}kind"}`,
      ],
      ['POST', 'RUN', 'input', (t) => `{"input":"hello ${t}there"}`],
      [
        'POST',
        '/v1/tenants',
        'name',
        (t) => `{"name":"x${t}","daily_token_limit":1,"monthly_token_limit":1}`,
      ],
    ];

    it.each(
      cases.flatMap(([method, path, field, body]) => [
        [`${path} ${field}`, 'a NUL', method, path, field, body(NUL), 'must not contain NUL'],
        [
          `${path} ${field}`,
          'a lone surrogate',
          method,
          path,
          field,
          body(LONE_SURROGATE),
          'must be well-formed Unicode',
        ],
      ]),
    )(
      'answers %s with %s 400 naming the field',
      async (_name, _what, method, path, field, body, text) => {
        const url = path === 'RUN' ? `/v1/agents/${agentId}/runs` : path;
        const res = await request(app.url, method, url, {
          key: path === '/v1/tenants' ? TEST_ADMIN_KEY : acme.key,
          body,
        });
        expect(res.status).toBe(400);
        expect(res.body.message).toBe(
          text === 'must not contain NUL'
            ? `${field} must not contain NUL characters (U+0000)`
            : `${field} must be well-formed Unicode: it contains an unpaired UTF-16 surrogate`,
        );
      },
    );

    it('stores nothing from a refused body', async () => {
      await request(app.url, 'POST', '/v1/documents', {
        key: acme.key,
        body: `{"title":"refused${NUL}","content":"c"}`,
      });
      const list = await request(app.url, 'GET', '/v1/documents', { key: acme.key });
      expect(list.body.map((doc: { title: string }) => doc.title)).not.toContainEqual(
        expect.stringContaining('refused'),
      );
    });

    it('answers a body nested 5,000 levels deep with 400, logged as a warning, not an error', async () => {
      logs.clear();
      const deep = `{"input":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
      const res = await request(app.url, 'POST', `/v1/agents/${agentId}/runs`, {
        key: acme.key,
        body: deep,
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(
        'input.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a is nested deeper than 64 levels',
      );
      const requestId = res.headers.get('x-request-id');
      const lines = logs.lines().filter((line) => line.request_id === requestId);
      expect(lines.filter((line) => line.level === 'error')).toEqual([]);
      expect(lines.find((line) => line.event === 'http.request.rejected')).toMatchObject({
        level: 'warn',
        reason: expect.stringContaining('nested deeper than 64 levels'),
      });
    });

    it('answers an array of 10,000 items with 400 naming it', async () => {
      const res = await request(app.url, 'POST', '/v1/agents', {
        key: acme.key,
        body: {
          name: 'a',
          type: 't',
          model: 'm',
          tools: Array.from({ length: 10_000 }, () => 'calculator'),
        },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('tools has more than 1000 items');
    });
  });
});
