import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Lower-cased header names; repeated headers keep every value. */
  readonly headers: ReadonlyMap<string, string[]>;
  readonly body: string;
  /** The response bytes as received, for checks on the wire format itself. */
  readonly raw: string;
}

/**
 * Sends one HTTP/1.1 request written byte for byte over a plain socket
 * (`Connection: close`) and parses the answer. fetch and node:http refuse to
 * send what the hostile-header tests need (CR, LF, NUL or non-Latin-1 bytes
 * in a header value), so this writes the request head itself.
 * Rejects when no complete answer arrives within timeoutMs.
 */
export function rawRequest(
  port: number,
  head: { method: string; path: string; headers: readonly (readonly [string, string])[] },
  timeoutMs = 10_000,
): Promise<RawResponse> {
  const lines = [`${head.method} ${head.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [name, value] of head.headers) lines.push(`${name}: ${value}`);
  lines.push('Connection: close', '', '');
  const request = Buffer.from(lines.join('\r\n'), 'utf8');

  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.end(request));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(parseResponse(raw));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`incomplete HTTP answer: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...headerLines] = raw.slice(0, end).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  let body = raw.slice(end + 4);
  if (headers.get('transfer-encoding')?.includes('chunked')) body = dechunk(body);
  return { status: Number(match[1]), headers, body, raw };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

export interface TrickleResult {
  /** From the first byte sent until the server closed the connection. */
  readonly closedAfterMs: number;
  /** What the server sent before closing (its 408, or nothing). */
  readonly received: string;
  /** Pieces written before the close. */
  readonly sent: number;
}

/**
 * A slow client: writes `first`, then one of `pieces` every `everyMs`, and
 * keeps going (repeating the last piece) until the server closes the
 * connection. Rejects when the server has not closed it after giveUpMs, so a
 * listener without bounds fails the test instead of hanging it.
 */
export function trickleRequest(
  port: number,
  options: { first: string; pieces: readonly string[]; everyMs: number; giveUpMs: number },
): Promise<TrickleResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let started = 0;
    let sent = 0;
    let writer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      clearInterval(writer);
      socket.destroy();
      reject(new Error(`the server still held the connection after ${options.giveUpMs} ms`));
    }, options.giveUpMs);
    socket.on('connect', () => {
      started = performance.now();
      socket.write(options.first);
      writer = setInterval(() => {
        if (!socket.writable) return;
        socket.write(options.pieces[Math.min(sent, options.pieces.length - 1)]);
        sent++;
      }, options.everyMs);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server resetting the connection is a close like any other here.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(writer);
      clearTimeout(giveUp);
      resolve({
        closedAfterMs: performance.now() - started,
        received: Buffer.concat(chunks).toString('utf8'),
        sent,
      });
    });
  });
}
