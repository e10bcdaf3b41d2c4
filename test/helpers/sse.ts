import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

/** One server-sent event as a client sees it. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  /** `data` parsed as JSON (undefined when it is not JSON). */
  readonly json: any;
  /** ms since the request went out. */
  readonly atMs: number;
}

export interface EventStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Events so far, in order of arrival. */
  readonly events: SseEvent[];
  /** Comment lines so far (`: ping` heartbeats), without the colon. */
  readonly comments: string[];
  /** The whole body as received (for answers that are not event streams: the JSON). */
  readonly text: () => string;
  /** Resolves when the server ends the answer; rejects if the connection breaks first. */
  readonly ended: Promise<void>;
  /** Resolves with the first event of that name, waiting up to timeoutMs. */
  next(event: string, timeoutMs?: number): Promise<SseEvent>;
  /** The client leaves: the connection is destroyed, as a closed tab or a killed curl does. */
  close(): void;
}

export interface EventStreamOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

/**
 * A real SSE client over node:http: it sends the request, resolves once the
 * answer's head arrives, and then parses the body as it comes (events
 * separated by blank lines, `event:` and `data:` fields, `:` comments, LF or
 * CRLF), so a test can watch a run step by step, or leave in the middle.
 */
export function openEventStream(
  baseUrl: string,
  path: string,
  options: EventStreamOptions = {},
): Promise<EventStream> {
  const url = new URL(path, baseUrl);
  const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method ?? 'POST',
      headers: {
        ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
        ...options.headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      let raw = '';
      let pending = '';
      let event = '';
      let data: string[] = [];
      const dispatch = (): void => {
        if (data.length > 0) {
          const text = data.join('\n');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          events.push({
            event: event || 'message',
            data: text,
            json,
            atMs: performance.now() - started,
          });
        }
        event = '';
        data = [];
      };
      const line = (text: string): void => {
        if (text === '') return dispatch();
        if (text.startsWith(':')) return void comments.push(text.slice(1).trim());
        const colon = text.indexOf(':');
        const field = colon === -1 ? text : text.slice(0, colon);
        const value = colon === -1 ? '' : text.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        pending += chunk;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? '';
        lines.forEach(line);
        waiters.forEach((wake) => wake());
      });
      const ended = new Promise<void>((done, broke) => {
        res.on('end', () => {
          waiters.forEach((wake) => wake());
          done();
        });
        res.on('error', broke);
        res.on('close', () => {
          waiters.forEach((wake) => wake());
          if (!res.complete) broke(new Error('the connection closed before the answer ended'));
        });
      });
      // Callers that never await it (a client that leaves) must not see an unhandled rejection.
      ended.catch(() => undefined);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        text: () => raw,
        ended,
        next: (name, timeoutMs = 10_000) =>
          new Promise((found, missing) => {
            const check = (): void => {
              const match = events.find((candidate) => candidate.event === name);
              if (match) {
                cleanup();
                found(match);
              } else if (res.complete || res.destroyed) {
                cleanup();
                missing(
                  new Error(`no ${name} event; got ${events.map((e) => e.event).join(', ')}`),
                );
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              missing(
                new Error(
                  `no ${name} event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(', ')}`,
                ),
              );
            }, timeoutMs);
            const cleanup = (): void => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          }),
        close: () => req.destroy(),
      });
    });
    if (body) req.write(body);
    req.end();
  });
}

/** The names of the events, in order. */
export function eventNames(stream: EventStream): string[] {
  return stream.events.map((event) => event.event);
}
