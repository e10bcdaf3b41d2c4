import { EventEmitter } from 'node:events';
import { enableGracefulShutdown } from '../../../src/observability/health';
import { startTestApp, TestApp } from '../../helpers/app';
import { getHealth } from '../../helpers/health';
import { LlmSimulator, startLlmSimulator } from '../../helpers/llm-simulator';
import { waitFor } from '../../helpers/wait-for';

/** Signals delivered by the test instead of the real process. */
class FakeSignals extends EventEmitter {
  send(signal: NodeJS.Signals): void {
    this.emit(signal, signal);
  }
}

describe(enableGracefulShutdown.name, () => {
  let app: TestApp;
  let signals: FakeSignals;
  let exit: jest.Mock<void, [number]>;
  let disable: () => void;

  async function install(drainMs: number, closeBoundMs = 30_000): Promise<void> {
    signals = new FakeSignals();
    exit = jest.fn<void, [number]>();
    disable = await enableGracefulShutdown(app.app, {
      drainMs,
      closeBoundMs,
      exit,
      signalSource: signals as unknown as NodeJS.Process,
    });
  }

  afterEach(async () => {
    disable?.();
    await app?.close();
  });

  it('turns readiness 503 at once, serves through the drain, then closes and exits 0', async () => {
    app = await startTestApp();
    await install(3000);
    const before = await fetch(`${app.url}/v1/info`);
    expect(before.headers.get('connection')).not.toBe('close');
    signals.send('SIGTERM');

    const ready = await getHealth(app.url, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'unhealthy', draining: true });
    expect((await getHealth(app.url, '/health/live')).status).toBe(200);
    const during = await fetch(`${app.url}/v1/info`);
    expect(during.status).toBe(200);
    // Clients reconnect elsewhere instead of keeping a connection to a pod that is leaving.
    expect(during.headers.get('connection')).toBe('close');
    expect(exit).not.toHaveBeenCalled();

    await waitFor(() => exit.mock.calls.length > 0, { timeoutMs: 15_000 });
    expect(exit.mock.calls).toEqual([[0]]);
    await expect(fetch(`${app.url}/health/live`)).rejects.toThrow();
  });

  it('exits 1 at once on a second signal', async () => {
    app = await startTestApp();
    await install(100);
    signals.send('SIGTERM');
    signals.send('SIGINT');
    expect(exit.mock.calls).toEqual([[1]]);
    // The fake exit does not end the process: let the sequence finish before the next test.
    await waitFor(() => exit.mock.calls.length === 2, { timeoutMs: 15_000 });
  });

  describe('with a request that outlives the bound', () => {
    let simulator: LlmSimulator;

    beforeAll(async () => {
      simulator = await startLlmSimulator({ hang: true, hangHealth: true });
    });
    afterAll(() => simulator.close());

    it('forces exit 1 when closing takes longer than the bound', async () => {
      app = await startTestApp({ LLM_PROXY_URL: simulator.url, HEALTH_CHECK_TIMEOUT_MS: '5000' });
      await install(0, 100);
      // /health waits up to 5 s on the hung proxy: the close has to wait for it.
      const slow = getHealth(app.url, '/health');
      await waitFor(() => simulator.requests.some((r) => r.path === '/health/liveliness'));
      signals.send('SIGTERM');
      await waitFor(() => exit.mock.calls.length > 0);
      expect(exit).toHaveBeenCalledWith(1);
      // The request in flight still gets its answer.
      expect((await slow).body.components.llm_proxy?.status).toBe('unhealthy');
    });
  });
});
