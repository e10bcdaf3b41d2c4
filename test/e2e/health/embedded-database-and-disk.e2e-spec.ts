import { startTestApp, TestApp } from '../../helpers/app';
import { getHealth } from '../../helpers/health';

describe('health on the embedded database with a disk threshold of 0', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ HEALTH_DISK_THRESHOLD: '0' });
  });

  afterAll(() => app?.close());

  it('checks the embedded database with a query', async () => {
    const res = await getHealth(app.url, '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.components).toEqual({
      database: { status: 'healthy', latency_ms: expect.any(Number) },
    });
  });

  it('reports disk down and the service degraded, 200', async () => {
    const res = await getHealth(app.url, '/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('degraded');
    expect(res.body.components.disk).toEqual({
      status: 'unhealthy',
      latency_ms: expect.any(Number),
      error: 'usage above threshold',
    });
  });

  it('leaves out the components that are not configured', async () => {
    const res = await getHealth(app.url, '/health');
    expect(Object.keys(res.body.components).sort()).toEqual(['database', 'disk']);
  });
});
