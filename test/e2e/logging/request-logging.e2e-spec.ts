import { connect } from 'node:net';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { captureLogs } from '../../helpers/log-capture';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { waitFor } from '../../helpers/wait-for';

const GENERATED_REQUEST_ID = /^req_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LLM_PROXY_KEY = 'sk-proxy-key-never-logged-0123';

/** Sends raw bytes (headers fetch refuses to send) and returns the status line and headers. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('request logging', () => {
  const logs = captureLogs();
  let db: TestDatabase;
  let sim: LlmSimulator;
  let app: TestApp;
  let acme: TestTenant;
  let globex: TestTenant;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase('logging');
    sim = await startLlmSimulator({ apiKey: LLM_PROXY_KEY });
    app = await startTestApp(
      {
        DATABASE_URL: db.url,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        LLM_PROXY_URL: sim.url,
        LLM_PROXY_API_KEY: LLM_PROXY_KEY,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        LLM_MAX_RETRIES: '0',
        // 25 runs of one tenant at once below: this file is about logs, not the concurrency limit.
        TENANT_MAX_CONCURRENT_RUNS: '100',
      },
      { logDestination: logs.destination },
    );
    port = Number(new URL(app.url).port);
    acme = await createTenant(app.url, { name: 'acme', userId: 'alice' });
    globex = await createTenant(app.url, { name: 'globex', userId: 'gus' });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await db?.drop();
  });

  beforeEach(() => {
    sim.setOptions({ errorRate: 0, failNext: 0 });
    logs.clear();
  });

  /** The access line of one request, once written. */
  const accessLine = (requestId: string) =>
    waitFor(() =>
      logs.events('http.request.completed').find((line) => line.request_id === requestId),
    );

  describe('X-Request-ID', () => {
    it('keeps a valid incoming id, echoes it and stamps it on the access line', async () => {
      const id = 'Trace-42.abc_DEF-9';
      const res = await fetch(`${app.url}/v1/info`, { headers: { 'x-request-id': id } });
      expect(res.headers.get('x-request-id')).toBe(id);
      expect(await accessLine(id)).toMatchObject({ route: '/v1/info', status: 200 });
    });

    it('echoes the id on 404s and errors too', async () => {
      const notFound = await fetch(`${app.url}/v1/missing`, {
        headers: { 'x-request-id': 'nf-1' },
      });
      expect(notFound.status).toBe(404);
      expect(notFound.headers.get('x-request-id')).toBe('nf-1');
      const unauthorised = await fetch(`${app.url}/v1/budget`, {
        headers: { 'x-request-id': 'unauth-1' },
      });
      expect(unauthorised.status).toBe(401);
      expect(unauthorised.headers.get('x-request-id')).toBe('unauth-1');
      const badJson = await fetch(`${app.url}/v1/tenants`, {
        method: 'POST',
        headers: { 'x-request-id': 'bad-json-1', 'content-type': 'application/json' },
        body: '{"name"',
      });
      expect(badJson.status).toBe(400);
      expect(badJson.headers.get('x-request-id')).toBe('bad-json-1');
      const tooLongParam = await fetch(`${app.url}/v1/agents/${'a'.repeat(200)}`, {
        headers: { 'x-request-id': 'long-param-1' },
      });
      expect(tooLongParam.status).toBe(414);
      expect(tooLongParam.headers.get('x-request-id')).toBe('long-param-1');
      expect(await accessLine('nf-1')).toMatchObject({ route: 'unmatched', status: 404 });
      expect(await accessLine('unauth-1')).toMatchObject({ status: 401 });
      expect(await accessLine('bad-json-1')).toMatchObject({ status: 400 });
    });

    it('answers a URL the router rejects (bad percent-encoding) with the id, the error body and an access line', async () => {
      const answer = await rawRequest(
        port,
        'GET /v1/%zz HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: bad-url-1\r\nConnection: close\r\n\r\n',
      );
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/\r\nx-request-id: bad-url-1\r\n/i);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      expect(body).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        request_id: 'bad-url-1',
      });
      expect(await accessLine('bad-url-1')).toMatchObject({
        route: 'unmatched',
        path: '/v1/%zz',
        status: 400,
      });
    });

    it.each([
      ['too long', 'a'.repeat(129)],
      ['spaces', 'abc def'],
      ['markup', '<script>alert(1)</script>'],
      ['log injection', 'x" , "tenant_id": "other'],
      ['unicode', 'ïd-ünïcode'],
      ['path characters', '../../etc/passwd'],
    ])('replaces a hostile id (%s) with a generated one', async (_name, hostile) => {
      const res = await fetch(`${app.url}/v1/info`, {
        headers: { 'x-request-id': Buffer.from(hostile, 'utf8').toString('latin1') },
      });
      const echoed = res.headers.get('x-request-id') ?? '';
      expect(echoed).toMatch(GENERATED_REQUEST_ID);
      await accessLine(echoed);
      expect(logs.raw.join('')).not.toContain(JSON.stringify(hostile).slice(1, -1));
    });

    /** The X-Request-ID echoed on a raw HTTP/1.1 exchange, if the request got that far. */
    const echoedOnRawRequest = async (headerLines: string): Promise<string | undefined> => {
      const answer = await rawRequest(
        port,
        `GET /v1/info HTTP/1.1\r\nHost: localhost\r\n${headerLines}Connection: close\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 (200|400) /);
      expect(answer).not.toMatch(/pwned|X-Injected/i);
      return /\r\nx-request-id: ([^\r]*)\r\n/i.exec(answer)?.[1];
    };

    it('replaces an id sent twice (Node joins the values with a comma)', async () => {
      const echoed = await echoedOnRawRequest('X-Request-ID: first\r\nX-Request-ID: second\r\n');
      expect(echoed).toMatch(GENERATED_REQUEST_ID);
    });

    it('never echoes or logs what follows a line break in the id', async () => {
      for (const hostile of ['abc\r\nSet-Cookie: pwned=1', 'abc\nX-Injected: 1', 'abc\rpwned']) {
        // Node's parser either refuses the request or ends the header at the break:
        // the app sees at most "abc", a valid id, and nothing is injected.
        const echoed = await echoedOnRawRequest(`X-Request-ID: ${hostile}\r\n`);
        if (echoed !== undefined)
          expect(echoed).toMatch(
            /^(abc|req_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
          );
      }
      expect(logs.raw.join('')).not.toMatch(/pwned|X-Injected/);
    });
  });

  describe('redaction', () => {
    it('logs no Authorization, Cookie, ?token=, API key or prompt text of a request carrying all of them', async () => {
      const secrets = {
        token: 'query-token-value-7d1f',
        cookie: 'session-cookie-value-91ab',
        headerKey: 'x-api-key-value-55c2',
        bodyKey: 'body-api-key-value-0e3a',
        prompt: 'PROMPT-TEXT-never-in-logs: what is 6*7?',
        instructions: 'SYSTEM-PROMPT-never-in-logs',
      };
      const agent = await createAgent(app.url, acme.key, { instructions: secrets.instructions });
      const run = await request(
        app.url,
        'POST',
        `/v1/agents/${agent.id}/runs?token=${secrets.token}`,
        {
          key: acme.key,
          headers: { cookie: `sid=${secrets.cookie}`, 'x-api-key': secrets.headerKey },
          body: { input: secrets.prompt },
        },
      );
      expect(run.status).toBe(201);
      // a body carrying an API key where none is allowed: rejected, and still not logged
      const rejected = await request(app.url, 'POST', `/v1/documents?api_key=${secrets.bodyKey}`, {
        key: acme.key,
        body: { title: 't', content: 'c', api_key: secrets.bodyKey },
      });
      expect(rejected.status).toBe(400);
      // a failing LLM call logs its failure, not the conversation
      sim.setOptions({ failNext: 1, failureStatus: 500 });
      const failed = await runAgent(app.url, acme.key, agent.id, secrets.prompt);
      expect(failed.status).toBe(502);

      const runLine = await accessLine(run.headers.get('x-request-id') ?? '');
      expect(runLine).toMatchObject({
        route: '/v1/agents/:id/runs',
        path: `/v1/agents/${agent.id}/runs`,
      });
      await accessLine(failed.headers.get('x-request-id') ?? '');
      const output = logs.raw.join('');
      expect(output).toContain('llm.request.failed');
      for (const secret of [
        ...Object.values(secrets),
        acme.key,
        TEST_ADMIN_KEY,
        LLM_PROXY_KEY,
        'Bearer',
      ]) {
        expect(output).not.toContain(secret);
      }
    });
  });

  describe('hostile input', () => {
    it('keeps a 1 MB body and a long path full of CRLF and ANSI escapes to escaped, bounded lines', async () => {
      const agent = await createAgent(app.url, acme.key);
      const huge = `line1\r\ninjected {"level":"fatal"}\u001b[31m${'x'.repeat(1_000_000)}`;
      const run = await runAgent(app.url, acme.key, agent.id, huge);
      // 32,000 characters is the DTO's bound: the rest answers 400 without being logged
      expect([201, 400, 429]).toContain(run.status);
      const path = `/v1/${'%0D%0A%1B%5B31m'.repeat(4)}${'p'.repeat(8000)}`;
      const notFound = await fetch(`${app.url}${path}`);
      expect(notFound.status).toBe(404);
      await accessLine(run.headers.get('x-request-id') ?? '');
      const line404 = await accessLine(notFound.headers.get('x-request-id') ?? '');
      expect(String(line404.path).length).toBeLessThan(2100);
      for (const chunk of logs.raw) {
        expect(chunk.length).toBeLessThan(16 * 1024);
        expect(chunk.indexOf('\n')).toBe(chunk.length - 1);
        expect(chunk).not.toContain('\r');
        expect(chunk).not.toContain('\u001b');
      }
      expect(logs.raw.join('')).not.toContain('injected');
    });
  });

  describe('concurrency', () => {
    it('never puts one tenant’s id on a line of another tenant’s request, over 100 concurrent requests', async () => {
      const acmeAgent = await createAgent(app.url, acme.key);
      const globexAgent = await createAgent(app.url, globex.key);
      logs.clear();
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const tenant = i % 2 === 0 ? acme : globex;
          const agentId = i % 2 === 0 ? acmeAgent.id : globexAgent.id;
          return i % 4 < 2
            ? runAgent(app.url, tenant.key, agentId, `What is ${i}+1?`)
            : request(app.url, 'GET', '/v1/budget', { key: tenant.key });
        }).map(async (pending, i) => ({ res: await pending, tenant: i % 2 === 0 ? acme : globex })),
      );
      const tenantOfRequest = new Map<string, TestTenant>();
      for (const { res, tenant } of responses) {
        expect([200, 201]).toContain(res.status);
        tenantOfRequest.set(res.headers.get('x-request-id') ?? '', tenant);
      }
      expect(tenantOfRequest.size).toBe(100);
      await waitFor(() => logs.events('http.request.completed').length >= 100);

      const lines = logs.lines().filter((line) => tenantOfRequest.has(String(line.request_id)));
      expect(lines.length).toBeGreaterThan(200);
      for (const line of lines) {
        const tenant = tenantOfRequest.get(String(line.request_id));
        expect(line.tenant_id).toBe(tenant?.id);
        expect(line.user_id).toBe(tenant === acme ? 'alice' : 'gus');
      }
      const runLines = lines.filter((line) => line.event === 'agent.execute.completed');
      expect(runLines).toHaveLength(50);
    });
  });
});
