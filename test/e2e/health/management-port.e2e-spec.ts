import { startTestApp, TestApp } from '../../helpers/app';
import { getHealth } from '../../helpers/health';
import { ManagementServer } from '../../../src/observability/management';

describe('with MANAGEMENT_PORT set', () => {
  let app: TestApp;
  let management: string;

  beforeAll(async () => {
    app = await startTestApp({ MANAGEMENT_PORT: '0' });
    management = `http://127.0.0.1:${app.app.get(ManagementServer).port}`;
  });

  afterAll(() => app?.close());

  it('serves /metrics on the management port only', async () => {
    const api = await fetch(`${app.url}/metrics`);
    expect(api.status).toBe(404);
    const res = await fetch(`${management}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('serves the detailed /health on the management port only', async () => {
    const api = await fetch(`${app.url}/health`);
    expect(api.status).toBe(404);
    const res = await getHealth(management, '/health');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.components).sort()).toEqual(['database', 'disk']);
  });

  it.each(['/health/live', '/health/ready'] as const)('answers %s on both ports', async (path) => {
    for (const base of [app.url, management]) {
      const res = await getHealth(base, path);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('healthy');
    }
  });

  it('updates the health metrics on every evaluation', async () => {
    await getHealth(management, '/health');
    const text = await (await fetch(`${management}/metrics`)).text();
    expect(text).toMatch(/^health_component_up\{component="database"\} 1$/m);
    expect(text).toMatch(/^health_component_up\{component="disk"\} 1$/m);
    expect(text).toMatch(/^health_check_duration_seconds_count\{component="database"\} [1-9]/m);
  });

  it('leaves the probes out of the HTTP metrics', async () => {
    await fetch(`${app.url}/v1/info`);
    await getHealth(app.url, '/health/ready');
    await getHealth(app.url, '/health/live');
    const text = await (await fetch(`${management}/metrics`)).text();
    expect(text).toMatch(/^http_requests_total\{[^}]*endpoint="\/v1\/info"/m);
    expect(text).not.toMatch(/endpoint="\/health/);
  });

  it('answers unknown management paths with a JSON 404', async () => {
    const res = await fetch(`${management}/v1/info`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});
