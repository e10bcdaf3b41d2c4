import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRaw } from './bench-app';

describe(getRaw.name, () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const body = JSON.stringify({ name: 'café', path: request.url });
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      // Two writes: the reader must wait for the whole body, not the first chunk.
      response.write(body.slice(0, 5));
      setTimeout(() => response.end(body.slice(5)), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the head and the whole body, counted in bytes as written', async () => {
    const raw = await getRaw(url, '/v1/info');

    expect(raw.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.head).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(raw.head.endsWith('\r\n\r\n')).toBe(true);
    expect(raw.body.toString('utf8')).toBe('{"name":"café","path":"/v1/info"}');
    expect(raw.body.length).toBe(Buffer.byteLength('{"name":"café","path":"/v1/info"}'));
  });
});
