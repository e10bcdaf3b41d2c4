import { createTestDatabase, TestDatabase } from '../helpers/database';
import { LlmSimulator, startLlmSimulator } from '../helpers/llm-simulator';
import { OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver';
import { runAgent } from '../helpers/platform';
import { ScenarioApp, startScenarioApp } from '../helpers/resilience';
import {
  completedRuns,
  lostRuns,
  RUN_INPUT,
  startSteadyTraffic,
  trafficProblems,
} from '../helpers/steady-traffic';
import { startTcpProxy, TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait-for';

const REQUEST_TIMEOUT_MS = 10_000;
const RUNS_PER_PHASE = 15;

/**
 * The app runs with the OpenTelemetry SDK preloaded (as start:prod does) and
 * exports over OTLP/gRPC through a TCP proxy to a real receiver. The proxy
 * then refuses connections (the collector is gone), then accepts and never
 * answers (a hung collector), then forwards again. Telemetry must never
 * become the application's problem: not one request may fail or hang.
 */
describe('steady traffic while the OpenTelemetry collector is gone, then hung, then back', () => {
  let db: TestDatabase;
  let simulator: LlmSimulator;
  let receiver: OtlpReceiver;
  let proxy: TcpProxy;
  let scenario: ScenarioApp;

  beforeAll(async () => {
    db = await createTestDatabase('res_otel');
    simulator = await startLlmSimulator();
    receiver = await startOtlpReceiver();
    proxy = await startTcpProxy(Number(new URL(receiver.endpoint).port));
    scenario = await startScenarioApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: simulator.url,
      ENABLE_TELEMETRY: 'true',
      OTLP_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
      TRACE_SAMPLE_RATIO: '1',
      // Export often, so every phase really exercises the exporter.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
  });

  afterAll(async () => {
    // Dropping the proxied connections first keeps a black-holed export from delaying the exit.
    await proxy?.setMode('refuse');
    await scenario?.stop();
    await proxy?.close();
    await receiver?.stop();
    await simulator?.close();
    await db?.drop();
  });

  it('answers every request in time and without error while the collector is gone or hung', async () => {
    const { app, tenant, agentId } = scenario;
    const traffic = startSteadyTraffic({
      baseUrl: app.url,
      key: tenant.key,
      agentId,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const runsAfter = async (count: number): Promise<void> => {
      const target = traffic.count('run', 201) + count;
      await waitFor(() => traffic.count('run', 201) >= target, { timeoutMs: 30_000 });
    };
    try {
      await runsAfter(RUNS_PER_PHASE);
      // Spans flow while the collector is there (the baseline the later phases lose).
      await receiver.waitForSpans((spans) => spans.some((s) => s.name.startsWith('invoke_agent')));

      await proxy.setMode('refuse');
      await runsAfter(RUNS_PER_PHASE);
      // The exporter really failed meanwhile, and said so (once, not per batch).
      await app.waitForLog((line) => line.event === 'telemetry.export.failed', 20_000);
      expect(await scenario.liveness()).toBe('live');

      await proxy.setMode('blackhole');
      const exportsBeforeHang = receiver.requestCount;
      // Long enough for several scheduled exports (every 200 ms) into the hung connection.
      await runsAfter(4 * RUNS_PER_PHASE);
      expect(receiver.requestCount).toBe(exportsBeforeHang);
      expect(await scenario.liveness()).toBe('live');

      // The hung collector is restarted: its connections drop, then it listens again.
      await proxy.setMode('refuse');
      const spansBeforeReturn = receiver.spans.length;
      await proxy.setMode('forward');
      // Export resumes by itself, within the exporter's bounded reconnect backoff (5 s; gRPC's
      // default grows to 120 s). Spans that ended before the connection was back are lost.
      await receiver.waitForSpans((spans) => spans.length > spansBeforeReturn, 15_000);
      await runsAfter(RUNS_PER_PHASE);
    } finally {
      await traffic.stop();
    }

    // Telemetry trouble is never the client's trouble: no 5xx, no 4xx, no hang.
    expect(trafficProblems(traffic.answers, [200, 201])).toEqual([]);
    expect(scenario.exit()).toBeUndefined();
    expect(await scenario.liveness()).toBe('live');
    expect(await lostRuns(app.url, tenant.key, completedRuns(traffic.answers))).toEqual([]);

    // A run made now is traced end to end.
    const res = await runAgent(app.url, tenant.key, agentId, RUN_INPUT);
    expect(res.status).toBe(201);
    const traceId = (res.body as { trace_id: string }).trace_id;
    await receiver.waitForSpans((spans) =>
      spans.some((s) => s.traceId === traceId && s.name.startsWith('invoke_agent')),
    );
  });
});
