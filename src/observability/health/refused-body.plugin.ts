import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** How long the rest of a refused request body is read (and discarded) before the connection closes. */
export const REFUSED_BODY_LINGER_MS = 2000;

export const REFUSED_BODY_PLUGIN = 'eap-refused-body-linger';

export interface RefusedBodyOptions {
  readonly lingerMs?: number;
}

/**
 * A request refused before its body was read (over the body limit, or a body
 * the parser rejected midway) is answered while the client may still be
 * sending. Fastify then closes the connection, and a client still writing
 * gets a reset (EPIPE, ECONNRESET) instead of the answer: about half the time
 * for a 2 MiB body on loopback. As nginx's lingering close does, the answer
 * goes out on a connection that keeps reading and discarding the rest of the
 * body (Node drops unread bodies once the response is sent), for at most
 * `lingerMs`; a client still sending by then is cut off. The drain plugin
 * depends on this one, so a connection it closes for shutdown stays closing.
 */
export const refusedBodyPlugin = fp(
  (
    fastify: FastifyInstance,
    { lingerMs = REFUSED_BODY_LINGER_MS }: RefusedBodyOptions,
    done: (error?: Error) => void,
  ) => {
    fastify.addHook('onSend', (request, reply, payload, next) => {
      const raw = request.raw;
      if (raw.complete || reply.getHeader('connection') !== 'close') {
        next(null, payload);
        return;
      }
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
      next(null, payload);
    });
    done();
  },
  { name: REFUSED_BODY_PLUGIN, fastify: '5.x' },
);
