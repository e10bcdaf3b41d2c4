import { connect } from 'node:net';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY } from '../../helpers/platform';
import { trickleRequest } from '../../helpers/raw-http';

const HEADERS_TIMEOUT_MS = 1500;
const REQUEST_TIMEOUT_MS = 4000;
const KEEP_ALIVE_TIMEOUT_MS = 2000;
/** Node checks the head and request bounds on a timer: the app ticks it at least every second. */
const CHECK_SLACK_MS = 1000 + 500;

/** Slow clients are cut by the API listener's bounds; a run that works is not. */
describe('the API listener with short timeouts', () => {
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: TestApp;
  let port: number;

  beforeAll(async () => {
    [sim, db] = await Promise.all([startLlmSimulator(), createTestDatabase('listener')]);
    app = await startTestApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    });
    port = Number(new URL(app.url).port);
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([sim?.close(), db?.drop()]);
  });

  it('closes a connection that sends one header line at a time, within the headers bound, with a 408', async () => {
    const result = await trickleRequest(port, {
      first: 'GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      pieces: ['X-Slow: 1\r\n'],
      everyMs: 250,
      giveUpMs: 3 * HEADERS_TIMEOUT_MS + 1000,
    });
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    // Before the request bound: it was the head that took too long.
    expect(result.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_SLACK_MS);
    expect(result.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(result.received).toContain('"message":"The request was not received in time"');
  });

  it('closes a connection that never sends a byte, within the headers bound', async () => {
    const started = performance.now();
    const { closedAfterMs, received } = await new Promise<{
      closedAfterMs: number;
      received: string;
    }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error('the server still held the silent connection'));
      }, 3 * HEADERS_TIMEOUT_MS);
      socket.setEncoding('utf8');
      // Read, or the close behind the server's answer is never seen.
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve({ closedAfterMs: performance.now() - started, received: text });
      });
    });
    expect(closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_SLACK_MS);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection whose body trickles in, within the request bound', async () => {
    const result = await trickleRequest(port, {
      first:
        'POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000\r\n\r\n{"title":"',
      pieces: ['a'],
      everyMs: 250,
      giveUpMs: 3 * REQUEST_TIMEOUT_MS,
    });
    // The head came at once, so the headers bound does not apply: the request bound does.
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(result.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_SLACK_MS);
    expect(result.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after the keep-alive bound, and says so', async () => {
    const { keepAlive, closedAfterMs } = await new Promise<{
      keepAlive: string | undefined;
      closedAfterMs: number;
    }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      let answeredAt = 0;
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error('the server still held the idle keep-alive connection'));
      }, 3 * KEEP_ALIVE_TIMEOUT_MS);
      socket.on('connect', () =>
        socket.write('GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n'),
      );
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (!answeredAt && text.includes('\r\n\r\n')) answeredAt = performance.now();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve({
          keepAlive: /\r\nkeep-alive: ([^\r]*)/i.exec(text)?.[1],
          closedAfterMs: performance.now() - answeredAt,
        });
      });
    });
    expect(keepAlive).toBe(`timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`);
    expect(closedAfterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
    // Node keeps the socket a second longer than it announces (keepAliveTimeoutBuffer), so a
    // client reusing it at the announced limit does not race the close.
    expect(closedAfterMs).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 1000 + 1000);
  });

  it('lets a run that works longer than the request bound answer: the bound ends with the body', async () => {
    const tenant = await createTenant(app.url, { name: 'slow-model' });
    const agent = await createAgent(app.url, tenant.key, { tools: [] });
    sim.setOptions({ latencyMs: REQUEST_TIMEOUT_MS + 1500 });
    try {
      const started = performance.now();
      const res = await runAgent(app.url, tenant.key, agent.id, 'Say hello');
      expect(performance.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_MS + 1000);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'success', error_type: null });
    } finally {
      sim.setOptions({ latencyMs: 0 });
    }
  });
});
