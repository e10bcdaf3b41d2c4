import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { REFUSED_BODY_PLUGIN } from './refused-body.plugin';
import { ShutdownState } from './shutdown-state';

export const DRAIN_PLUGIN = 'eap-drain';

export interface DrainOptions {
  readonly shutdown: ShutdownState;
}

/**
 * While the process drains, every response tells its client to close the
 * connection: clients reconnect (to another pod, once readiness took this one
 * out), and a keep-alive connection whose request finishes after the listener
 * closed does not hold app.close() open until its idle timeout.
 */
export const drainPlugin = fp(
  (fastify: FastifyInstance, { shutdown }: DrainOptions, done: (error?: Error) => void) => {
    fastify.addHook('onSend', (request, reply, payload, next) => {
      if (shutdown.draining && request.raw.httpVersionMajor < 2) {
        void reply.header('connection', 'close');
      }
      next(null, payload);
    });
    done();
  },
  // After the linger's onSend, which removes the close header of a refused body it keeps reading.
  { name: DRAIN_PLUGIN, fastify: '5.x', dependencies: [REFUSED_BODY_PLUGIN] },
);
