import Fastify, { type FastifyInstance } from 'fastify';
import { connect, type Socket } from 'node:net';
import { connectionClosePlugin } from './connection-close.plugin';
import { ShutdownState } from './shutdown-state';

const BODY_LIMIT = 1024;
const LINGER_MS = 300;

interface Exchange {
  /** Everything the server sent, as text. */
  answer: string;
  /** The socket error the client saw, if any (a reset while it was still sending). */
  error?: string;
  /** Milliseconds from the first byte sent to the connection closing. */
  closedAfterMs: number;
}

/** Sends a POST whose Content-Length is `declared`, writing `sent` bytes of body, and reads until close. */
function post(port: number, declared: number, sent: number, keepOpenMs = 0): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const started = Date.now();
    socket.on('connect', () => {
      socket.write(
        `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(sent, 0x20));
      // A client that keeps the connection (keep-alive): it does not end its side.
      if (keepOpenMs > 0) setTimeout(() => socket.end(), keepOpenMs).unref();
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () =>
      resolve({
        answer: Buffer.concat(chunks).toString(),
        error,
        closedAfterMs: Date.now() - started,
      }),
    );
  });
}

describe('connectionClosePlugin', () => {
  let app: FastifyInstance;
  let port: number;
  let shutdown: ShutdownState;

  beforeAll(async () => {
    shutdown = new ShutdownState();
    app = Fastify({ bodyLimit: BODY_LIMIT });
    await app.register(connectionClosePlugin, { lingerMs: LINGER_MS, shutdown });
    app.post('/echo', (request) => request.body);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app.close());

  it('answers 413 to a client still sending a body over the limit, and reads the rest instead of resetting', async () => {
    const body = 2 * 1024 * 1024;
    const exchange = await post(port, body, body, 1000);
    expect(exchange.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(exchange.answer.toLowerCase()).not.toContain('connection: close');
    expect(exchange.error).toBeUndefined();
  });

  it('keeps the connection for the next request once the refused body has arrived', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const answers: string[] = [];
    socket.on('data', (chunk: Buffer) => answers.push(chunk.toString()));
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n`,
    );
    socket.write(Buffer.alloc(4096, 0x20));
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}`,
    );
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (answers.join('').includes('{"a":1}')) {
          clearInterval(check);
          resolve();
        }
      }, 10);
      socket.once('close', () => reject(new Error(`closed: ${answers.join('')}`)));
    });
    const text = answers.join('');
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('HTTP/1.1 200 ');
    socket.destroy();
  });

  it('cuts off a client that stops sending the refused body', async () => {
    const exchange = await post(port, 2 * 1024 * 1024, 100, 10_000);
    expect(exchange.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(LINGER_MS - 50);
    expect(exchange.closedAfterMs).toBeLessThan(5000);
  });

  it('leaves a refused body that fully arrived to Fastify (nothing more to read)', async () => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"broken"`,
    );
    // Fastify answers 400 and closes, as it does without the hook.
    await new Promise((resolve) => socket.once('close', resolve));
    const answer = Buffer.concat(chunks).toString().toLowerCase();
    expect(answer).toMatch(/^http\/1\.1 400 /);
    expect(answer).toContain('connection: close');
  });
  it('closes every answer once the process drains, a refused body included', async () => {
    const draining = new ShutdownState();
    const drainingApp = Fastify({ bodyLimit: BODY_LIMIT });
    await drainingApp.register(connectionClosePlugin, { lingerMs: LINGER_MS, shutdown: draining });
    drainingApp.post('/echo', (request) => request.body);
    await drainingApp.listen({ port: 0, host: '127.0.0.1' });
    const drainingPort = (drainingApp.server.address() as { port: number }).port;
    try {
      const echo = (): Promise<Response> =>
        fetch(`http://127.0.0.1:${drainingPort}/echo`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a":1}',
        });
      expect((await echo()).headers.get('connection')).toBe('keep-alive');
      draining.startDraining();
      const ordinary = await echo();
      expect(ordinary.status).toBe(200);
      expect(ordinary.headers.get('connection')).toBe('close');
      const refused = await post(drainingPort, 2 * 1024 * 1024, 2 * 1024 * 1024, 1000);
      expect(refused.answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(refused.answer.toLowerCase()).toContain('connection: close');
    } finally {
      await drainingApp.close();
    }
  });
});
