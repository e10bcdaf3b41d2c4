// Forked by load.ts: autocannon in a process of its own, so the load generator's
// event loop never competes with the bench's samplers, simulator and receivers.
import autocannon from 'autocannon';
import type { AutocannonInstance } from 'autocannon';
import type { FireRequest, FireResult, LoadWorkerMessage, LoadWorkerReply } from './load-protocol';

let active: AutocannonInstance | undefined;

function reply(message: LoadWorkerReply): void {
  process.send?.(message);
}

function fire(request: FireRequest): void {
  const instance = autocannon(
    {
      url: request.url,
      method: request.method,
      headers: request.headers,
      body: request.body,
      connections: request.connections,
      duration: request.durationSeconds,
      timeout: 10,
    },
    (error, result) => {
      active = undefined;
      if (error) {
        reply({ type: 'failed', id: request.id, error: error.stack ?? error.message });
        return;
      }
      const fired: FireResult = {
        requestsPerSecond: result.requests.average,
        latencyP50Ms: result.latency.p50,
        latencyP99Ms: result.latency.p99,
        completed: result.latency.totalCount,
        failed: result.errors + result.timeouts + result.non2xx,
      };
      reply({ type: 'done', id: request.id, result: fired });
    },
  );
  active = instance;
}

process.on('message', (message: LoadWorkerMessage) => {
  if (active) {
    reply({ type: 'failed', id: message.id, error: 'a load is already running' });
    return;
  }
  fire(message);
});

// The bench went away (crashed or killed): nothing left to report to.
process.on('disconnect', () => {
  active?.stop();
  process.exit(0);
});

reply({ type: 'ready' });
