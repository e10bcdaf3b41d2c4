import { createTestDatabase, TestDatabase } from '../helpers/database';
import { startTestApp, TestApp } from '../helpers/app';

describe('application boot', () => {
  describe('with the embedded database', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app.close());

    it('answers /v1/info on Fastify', async () => {
      const res = await fetch(`${app.url}/v1/info`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        name: 'enterprise-agent-platform',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      });
      expect(res.headers.get('x-request-id')).toMatch(
        /^req_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    });

    it('answers unknown routes with a JSON 404 carrying the request id', async () => {
      const res = await fetch(`${app.url}/v1/nothing-here`, {
        headers: { 'x-request-id': 'abc-123' },
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: expect.any(String),
        request_id: 'abc-123',
      });
    });

    it('rejects malformed JSON with 400', async () => {
      const res = await fetch(`${app.url}/v1/info`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"broken"',
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { statusCode: number; request_id: string };
      expect(body.statusCode).toBe(400);
      expect(body.request_id).toEqual(res.headers.get('x-request-id'));
    });
  });

  describe('with PostgreSQL', () => {
    let db: TestDatabase;
    let app: TestApp;
    beforeAll(async () => {
      db = await createTestDatabase('boot');
      app = await startTestApp({ DATABASE_URL: db.url });
    });
    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    it('answers /v1/info', async () => {
      const res = await fetch(`${app.url}/v1/info`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name: string }).name).toBe('enterprise-agent-platform');
    });
  });
});
