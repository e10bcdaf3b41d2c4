import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { OTLP_SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from '../../helpers/otlp-receiver';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY } from '../../helpers/platform';
import { ensureAppBuilt, spawnApp, type SpawnedApp } from '../../helpers/spawn-app';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';

const SECRET = 'project zebra';

describe('telemetry modes of the built app', () => {
  let receiver: OtlpReceiver;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: SpawnedApp | undefined;

  beforeAll(async () => {
    await ensureAppBuilt();
    [receiver, sim, db] = await Promise.all([
      startOtlpReceiver(),
      startLlmSimulator(),
      createTestDatabase('tracing_modes'),
    ]);
  }, 300_000);

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    receiver.clear();
  });

  afterAll(async () => {
    await Promise.all([receiver?.stop(), sim?.close(), db?.drop()]);
  });

  function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: db.url,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      ...extra,
    };
  }

  async function oneRun(target: SpawnedApp) {
    const tenant = await createTenant(target.url, { name: 'acme', userId: 'alice' });
    const agent = await createAgent(target.url, tenant.key, { tools: ['calculator'] });
    return runAgent(target.url, tenant.key, agent.id, `What is 2+3? (for ${SECRET})`);
  }

  it('records prompt and completion text only with the content-capture flag', async () => {
    app = await spawnApp(
      baseEnv({
        ENABLE_TELEMETRY: 'true',
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
      }),
    );
    const res = await oneRun(app);
    expect(res.status).toBe(201);
    const spans = await receiver.waitForSpans((all) =>
      all.some((s) => s.traceId === res.body.trace_id && s.kind === OTLP_SPAN_KIND.server),
    );
    const chats = spans.filter(
      (s) => s.traceId === res.body.trace_id && s.name.startsWith('chat '),
    );
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(String(chat.attributes['gen_ai.input.messages'])).toContain(SECRET);
      expect(chat.attributes['gen_ai.output.messages']).toEqual(expect.any(String));
    }
    const tool = spans.find((s) => s.name === 'execute_tool calculator');
    expect(tool?.attributes['gen_ai.tool.call.arguments']).toEqual(expect.stringContaining('2+3'));
  });

  it('with telemetry off: no export attempted, no trace ids, everything works', async () => {
    app = await spawnApp(baseEnv({ ENABLE_TELEMETRY: 'false' }));
    sim.clearRequests();
    const res = await oneRun(app);
    expect(res.status).toBe(201);
    expect(res.body.trace_id).toBeNull();
    expect(res.headers.get('traceresponse')).toBeNull();
    expect(sim.requests.every((req) => req.headers.traceparent === undefined)).toBe(true);

    // after the process is gone nothing more can arrive: the receiver never heard from it
    await app.stop();
    expect(receiver.requestCount).toBe(0);
    expect(app.jsonLogs().some((line) => String(line.event).startsWith('telemetry.'))).toBe(false);
  });

  it('leaves an invalid configuration to main.ts: one clear line and exit code 78, no stack from the preload', () => {
    const { NODE_OPTIONS: _jestOnly, ...env } = process.env;
    const result = spawnSync(
      process.execPath,
      ['--require', './dist/src/instrumentation.js', 'dist/src/main.js'],
      {
        cwd: resolve(__dirname, '../../..'),
        env: { ...env, ENABLE_TELEMETRY: 'maybe' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.status).toBe(78);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('Invalid configuration: ENABLE_TELEMETRY'),
    ]);
  });

  it('warns when an instrumented module was loaded before the SDK started', async () => {
    app = await spawnApp(baseEnv({ ENABLE_TELEMETRY: 'true' }), { nodeArgs: ['--require', 'pg'] });
    const warning = await app.waitForLog((line) => line.event === 'telemetry.late_start');
    expect(warning).toMatchObject({ level: 'warn', modules: expect.arrayContaining(['pg']) });
  });

  it('flushes pending spans on SIGTERM', async () => {
    // a batch delay far beyond the test: only the shutdown flush can deliver the span
    app = await spawnApp(baseEnv({ ENABLE_TELEMETRY: 'true', OTEL_BSP_SCHEDULE_DELAY: '600000' }));
    const info = await fetch(`${app.url}/v1/info`);
    const traceId = info.headers.get('traceresponse')?.split('-')[1];
    expect(receiver.requestCount).toBe(0);

    await app.stop('SIGTERM');
    expect(receiver.trace(traceId ?? '')).toHaveLength(1);
  });

  describe('with the collector unreachable', () => {
    let proxy: TcpProxy;

    beforeEach(async () => {
      proxy = await startTcpProxy(Number(new URL(receiver.endpoint).port));
    });
    afterEach(() => proxy.close());

    it('keeps answering, drops spans at the bounded queue, warns at most once, and recovers', async () => {
      await proxy.setMode('refuse');
      app = await spawnApp(
        baseEnv({
          ENABLE_TELEMETRY: 'true',
          OTLP_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
          OTEL_BSP_MAX_QUEUE_SIZE: '10',
          OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '5',
          OTEL_BSP_SCHEDULE_DELAY: '10',
        }),
      );
      const target = app;
      for (let burst = 0; burst < 5; burst += 1) {
        const answers = await Promise.all(
          Array.from({ length: 40 }, () => fetch(`${target.url}/v1/info`)),
        );
        expect(answers.every((answer) => answer.status === 200)).toBe(true);
      }

      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      const dropped = Number(/^otel_spans_dropped_total (\d+)/m.exec(metrics)?.[1]);
      expect(dropped).toBeGreaterThan(0);

      await app.waitForLog((line) => line.event === 'telemetry.export.failed');
      const warnings = app.jsonLogs().filter((line) => line.event === 'telemetry.export.failed');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 'warn' });

      // the collector comes back: spans flow again without a restart
      await proxy.setMode('forward');
      await waitFor(
        async () => {
          await fetch(`${target.url}/v1/info`);
          return receiver.spans.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    });

    it('exits on SIGTERM within the shutdown bound even with a black-holed collector', async () => {
      await proxy.setMode('blackhole');
      app = await spawnApp(
        baseEnv({ ENABLE_TELEMETRY: 'true', OTLP_ENDPOINT: `http://127.0.0.1:${proxy.port}` }),
      );
      await fetch(`${app.url}/v1/info`);
      // the gRPC export would wait its 10 s deadline; the bounded shutdown does not
      const exit = await app.stop('SIGTERM', 9_000);
      expect(exit.signal).not.toBe('SIGKILL');
    });
  });
});
