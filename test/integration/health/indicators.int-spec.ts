import { Logger, Provider } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { HealthIndicatorResult, TerminusModule } from '@nestjs/terminus';
import { createServer, Server } from 'node:http';
import { DataSource } from 'typeorm';
import { ConfigModule, loadConfig } from '../../../src/config';
import { dataSourceOptions } from '../../../src/database';
import { DatabaseHealthIndicator } from '../../../src/observability/health/indicators/database.health';
import { DiskSpaceHealthIndicator } from '../../../src/observability/health/indicators/disk.health';
import { LlmProxyHealthIndicator } from '../../../src/observability/health/indicators/llm-proxy.health';
import { RedisHealthIndicator } from '../../../src/observability/health/indicators/redis.health';
import { testEnv } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { freePort } from '../../helpers/free-port';
import { LlmSimulator, startLlmSimulator } from '../../helpers/llm-simulator';
import { RedisServer, startRedisServer } from '../../helpers/redis-server';
import { startTcpProxy, TcpProxy } from '../../helpers/tcp-proxy';

const CHECK_TIMEOUT_MS = 200;

/** An indicator (and its lifecycle hooks) in a Nest module with Terminus and the given environment. */
async function indicatorModule(env: Record<string, string>, ...extra: Provider[]) {
  const config = loadConfig(testEnv({ HEALTH_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS), ...env }));
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), TerminusModule.forRoot({ logger: false })],
    providers: [RedisHealthIndicator, LlmProxyHealthIndicator, DiskSpaceHealthIndicator, ...extra],
  }).compile();
  return moduleRef.init();
}

function statusOf(result: HealthIndicatorResult): { status: string; message?: string } {
  return Object.values(result)[0] as { status: string; message?: string };
}

beforeAll(() => Logger.overrideLogger(false));

describe(RedisHealthIndicator.name, () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  const modules: TestingModule[] = [];

  async function indicator(url: string): Promise<RedisHealthIndicator> {
    const moduleRef = await indicatorModule({ REDIS_URL: url });
    modules.push(moduleRef);
    return moduleRef.get(RedisHealthIndicator);
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await startTcpProxy(redis.port);
  });

  afterAll(async () => {
    await Promise.all(modules.map((m) => m.close()));
    await proxy.close();
    await redis.stop();
  });

  it('is up when Redis answers PING', async () => {
    expect(statusOf(await (await indicator(redis.url)).check())).toEqual({
      status: 'up',
      responseTime: expect.any(Number),
    });
  });

  it('is down at once, without an address, when nothing listens', async () => {
    const port = await freePort();
    const result = statusOf(await (await indicator(`redis://:secret@127.0.0.1:${port}`)).check());
    expect(result.status).toBe('down');
    // "connection refused" while the client is connecting, "not connected" between its retries.
    expect(result.message).toMatch(/^(connection refused|not connected)$/);
  });

  it('is down within the bound when Redis accepts but never answers', async () => {
    const check = await indicator(`redis://127.0.0.1:${proxy.port}`);
    expect(statusOf(await check.check()).status).toBe('up');
    await proxy.setMode('blackhole');
    const result = statusOf(await check.check());
    expect(result.status).toBe('down');
    expect(result.message).toMatch(/timed? ?out/);
    await proxy.setMode('forward');
  });

  it('is not configured without REDIS_URL', async () => {
    const moduleRef = await indicatorModule({});
    modules.push(moduleRef);
    expect(moduleRef.get(RedisHealthIndicator).configured).toBe(false);
  });
});

describe(LlmProxyHealthIndicator.name, () => {
  let simulator: LlmSimulator;
  let failing: Server;
  let failingUrl: string;
  const modules: TestingModule[] = [];

  async function indicator(url: string): Promise<LlmProxyHealthIndicator> {
    const moduleRef = await indicatorModule({ LLM_PROXY_URL: url });
    modules.push(moduleRef);
    return moduleRef.get(LlmProxyHealthIndicator);
  }

  beforeAll(async () => {
    simulator = await startLlmSimulator();
    failing = createServer((_req, res) => res.writeHead(503).end('upstream down'));
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    failingUrl = `http://127.0.0.1:${(failing.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await Promise.all(modules.map((m) => m.close()));
    await simulator.close();
    await new Promise((resolve) => failing.close(resolve));
  });

  it('is up when the liveliness probe answers 2xx', async () => {
    expect(statusOf(await (await indicator(simulator.url)).check()).status).toBe('up');
    expect(simulator.requests.at(-1)?.path).toBe('/health/liveliness');
  });

  it('is down with the status code when the probe answers an error', async () => {
    expect(statusOf(await (await indicator(failingUrl)).check())).toMatchObject({
      status: 'down',
      message: 'HTTP 503',
    });
  });

  it('is down within the bound when the proxy hangs', async () => {
    simulator.setOptions({ hang: true, hangHealth: true });
    try {
      expect(statusOf(await (await indicator(simulator.url)).check())).toMatchObject({
        status: 'down',
        message: `timeout of ${CHECK_TIMEOUT_MS}ms exceeded`,
      });
    } finally {
      simulator.setOptions({ hang: false, hangHealth: false });
    }
  });

  it('is down with "connection refused" when nothing listens', async () => {
    const port = await freePort();
    expect(statusOf(await (await indicator(`http://127.0.0.1:${port}`)).check())).toMatchObject({
      status: 'down',
      message: 'connection refused',
    });
  });
});

describe(DiskSpaceHealthIndicator.name, () => {
  const modules: TestingModule[] = [];

  async function indicator(env: Record<string, string>): Promise<DiskSpaceHealthIndicator> {
    const moduleRef = await indicatorModule(env);
    modules.push(moduleRef);
    return moduleRef.get(DiskSpaceHealthIndicator);
  }

  afterAll(() => Promise.all(modules.map((m) => m.close())));

  it('is up below the threshold', async () => {
    expect(statusOf(await (await indicator({ HEALTH_DISK_THRESHOLD: '1' })).check()).status).toBe(
      'up',
    );
  });

  it('is down above the threshold', async () => {
    expect(statusOf(await (await indicator({ HEALTH_DISK_THRESHOLD: '0' })).check())).toMatchObject(
      { status: 'down', message: 'usage above threshold' },
    );
  });

  it('is down without the path when the path does not exist', async () => {
    expect(
      statusOf(await (await indicator({ HEALTH_DISK_PATH: '/nonexistent/secret-dir' })).check()),
    ).toMatchObject({ status: 'down', message: 'path not found' });
  });
});

describe(DatabaseHealthIndicator.name, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let moduleRef: TestingModule;

  beforeAll(async () => {
    db = await createTestDatabase('health_indicator');
    const config = loadConfig(testEnv({ DATABASE_URL: db.url }));
    dataSource = await new DataSource(dataSourceOptions(config, [])).initialize();
    moduleRef = await indicatorModule({}, DatabaseHealthIndicator, {
      provide: DataSource,
      useValue: dataSource,
    });
  });

  afterAll(async () => {
    await moduleRef.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.drop();
  });

  it('is up when SELECT 1 answers', async () => {
    expect(statusOf(await moduleRef.get(DatabaseHealthIndicator).check()).status).toBe('up');
  });

  it('is down once the connection is closed', async () => {
    await dataSource.destroy();
    expect(statusOf(await moduleRef.get(DatabaseHealthIndicator).check())).toMatchObject({
      status: 'down',
      message: 'not connected',
    });
  });
});
