import { Socket } from 'node:net';
import { handleClientError } from './client-error.handler';

/** A socket that records what is written to it instead of sending it. */
function recordingSocket(): { socket: Socket; written: () => string } {
  const socket = new Socket();
  let text = '';
  Object.defineProperty(socket, 'writable', { value: true });
  socket.write = (chunk: string) => {
    text += chunk;
    return true;
  };
  socket.on('error', () => undefined);
  return { socket, written: () => text };
}

function parse(raw: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head, body] = raw.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    headers: head,
    body: JSON.parse(body) as Record<string, unknown>,
  };
}

describe(handleClientError.name, () => {
  it.each([
    ['a malformed request', 'HPE_INVALID_HEADER_TOKEN', 400],
    ['headers over the limit', 'HPE_HEADER_OVERFLOW', 431],
    ['a request that took too long', 'ERR_HTTP_REQUEST_TIMEOUT', 408],
  ])('answers %s in the standard error shape with a fresh request id', (_name, code, status) => {
    const { socket, written } = recordingSocket();
    handleClientError(Object.assign(new Error('parse error'), { code }), socket);
    const res = parse(written());
    expect(res.status).toBe(status);
    expect(res.body).toEqual({
      statusCode: status,
      error: expect.any(String),
      message: expect.any(String),
      request_id: expect.stringMatching(
        /^req_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      ),
    });
    expect(res.headers).toContain(`X-Request-ID: ${res.body.request_id as string}`);
    expect(socket.destroyed).toBe(true);
  });

  it('writes nothing to a connection the peer reset', () => {
    const { socket, written } = recordingSocket();
    handleClientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), socket);
    expect(written()).toBe('');
  });
});
