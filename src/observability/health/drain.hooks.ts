import type { FastifyInstance } from 'fastify';
import { ShutdownState } from './shutdown-state';

/**
 * While the process drains, every response tells its client to close the
 * connection: clients reconnect (to another pod, once readiness took this one
 * out), and a keep-alive connection whose request finishes after the listener
 * closed does not hold app.close() open until its idle timeout.
 */
export function registerDrainHooks(fastify: FastifyInstance, shutdown: ShutdownState): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (shutdown.draining && request.raw.httpVersionMajor < 2) {
      void reply.header('connection', 'close');
    }
    done(null, payload);
  });
}
