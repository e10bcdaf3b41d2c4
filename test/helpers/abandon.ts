import { request as httpRequest } from 'node:http';

export interface AbandonOptions {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** The body to send; with `declaredLength` above its size, the server waits for the rest. */
  readonly body?: string;
  /** Content-Length to announce (defaults to the body's length). */
  readonly declaredLength?: number;
  /** When the client gives up, in ms after the request went out. */
  readonly afterMs: number;
}

/**
 * A client that gives up: sends the request (or part of its body), then
 * closes the connection before any answer, as a browser tab closed or a
 * client-side timeout does. Resolves when the connection is closed.
 */
export function abandonRequest(baseUrl: string, options: AbandonOptions): Promise<void> {
  const url = new URL(options.path, baseUrl);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method,
      headers: {
        ...options.headers,
        ...(body ? { 'content-length': String(options.declaredLength ?? body.length) } : {}),
      },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      res.resume();
      reject(new Error(`the server answered ${res.statusCode} before the client gave up`));
    });
    req.on('error', () => undefined);
    req.on('close', () => {
      if (!answered) resolve();
    });
    if (body) req.write(body);
    if (options.declaredLength === undefined) req.end();
    else req.flushHeaders();
    setTimeout(() => req.destroy(), options.afterMs).unref();
  });
}
