import type { DestinationStream } from 'pino';

/** One parsed JSON log line, with the fields every line has. */
export interface LogLine {
  timestamp: string;
  level: string;
  event: string;
  message: string;
  [field: string]: unknown;
}

export interface LogCapture {
  /** Pass as startTestApp's logDestination or createRootLogger's destination. */
  readonly destination: DestinationStream;
  /** Every chunk written, exactly as written. */
  readonly raw: string[];
  /** Every line written so far, parsed. Throws if a chunk is not exactly one JSON line. */
  lines(): LogLine[];
  /** Lines of one event. */
  events(event: string): LogLine[];
  clear(): void;
}

/** Collects a pino logger's output in memory (pino writes one line a write call). */
export function captureLogs(): LogCapture {
  const raw: string[] = [];
  return {
    destination: { write: (chunk: string) => void raw.push(chunk) },
    raw,
    lines: () => raw.map(parseLine),
    events(event: string) {
      return this.lines().filter((line) => line.event === event);
    },
    clear: () => void raw.splice(0),
  };
}

function parseLine(chunk: string): LogLine {
  if (!chunk.endsWith('\n') || chunk.indexOf('\n') !== chunk.length - 1) {
    throw new Error(`Not exactly one line: ${JSON.stringify(chunk.slice(0, 200))}`);
  }
  return JSON.parse(chunk) as LogLine;
}
