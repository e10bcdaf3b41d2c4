import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ShutdownState } from './shutdown-state';

/** How long the rest of a refused request body is read (and discarded) before the connection closes. */
export const REFUSED_BODY_LINGER_MS = 2000;

export const CONNECTION_CLOSE_PLUGIN = 'eap-connection-close';

export interface ConnectionCloseOptions {
  /** While it drains, every answer closes its connection. */
  readonly shutdown?: ShutdownState;
  readonly lingerMs?: number;
}

/**
 * How a connection closes after an answer, decided in one onSend hook (a hook
 * call a phase is a cost every request pays):
 *
 * - A request refused before its body was read (over the body limit, or a
 *   body the parser rejected midway) is answered while the client may still be
 *   sending. Fastify then closes the connection, and a client still writing
 *   gets a reset (EPIPE, ECONNRESET) instead of the answer: about half the time
 *   for a 2 MiB body on loopback. As nginx's lingering close does, the answer
 *   goes out on a connection that keeps reading and discarding the rest of the
 *   body (Node drops unread bodies once the response is sent), for at most
 *   `lingerMs`; a client still sending by then is cut off.
 * - While the process drains, every response tells its client to close the
 *   connection: clients reconnect (to another pod, once readiness took this one
 *   out), and a keep-alive connection whose request finishes after the listener
 *   closed does not hold app.close() open until its idle timeout. Decided after
 *   the linger, so a connection closed for shutdown stays closing.
 */
export const connectionClosePlugin = fp(
  (
    fastify: FastifyInstance,
    { shutdown, lingerMs = REFUSED_BODY_LINGER_MS }: ConnectionCloseOptions,
    done: (error?: Error) => void,
  ) => {
    fastify.addHook('onSend', (request, reply, payload, next) => {
      if (!request.raw.complete && reply.getHeader('connection') === 'close') {
        lingerOnRefusedBody(request, reply, lingerMs);
      }
      if (shutdown?.draining && request.raw.httpVersionMajor < 2) {
        void reply.header('connection', 'close');
      }
      next(null, payload);
    });
    done();
  },
  { name: CONNECTION_CLOSE_PLUGIN, fastify: '5.x' },
);

function lingerOnRefusedBody(request: FastifyRequest, reply: FastifyReply, lingerMs: number): void {
  const raw = request.raw;
  void reply.removeHeader('connection');
  reply.raw.once('finish', () => {
    const socket = raw.socket;
    if (raw.complete || socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    const stop = (): void => {
      clearTimeout(timer);
      raw.off('end', stop);
      socket.off('close', stop);
    };
    raw.once('end', stop);
    socket.once('close', stop);
  });
}
