import { scrubText } from '../logging';

/**
 * An indicator's failure with a message that is safe to show to anyone who
 * can reach a probe: a few words, never a credential, URL or address.
 */
export class HealthCheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HealthCheckFailure';
  }
}

const CODE_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOENT: 'path not found',
  EACCES: 'permission denied',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection reset',
  UND_ERR_HEADERS_TIMEOUT: 'no response',
};

const MAX_LENGTH = 80;

/**
 * Turns whatever a client library threw into a short phrase. Driver messages
 * can carry host names, ports, users or whole connection strings, so only
 * well-known error codes are translated and anything else is scrubbed.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof HealthCheckFailure) return error.message;
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CODE_MESSAGES[code]) return CODE_MESSAGES[code];
    current = (current as { cause?: unknown }).cause;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/timed? ?out/i.test(message)) return 'timed out';
  if (/stream isn't writeable|connection is closed|not connected/i.test(message)) {
    return 'not connected';
  }
  if (/connection terminated|socket hang up/i.test(message)) return 'connection reset';
  return scrub(message) || 'check failed';
}

/** Anything that could identify or authenticate against a host removed, on one short line. */
export function scrub(message: string): string {
  const cleaned = scrubText(message, { hideLocations: true }).replace(/\s+/g, ' ').trim();
  return cleaned.length > MAX_LENGTH ? `${cleaned.slice(0, MAX_LENGTH - 3)}...` : cleaned;
}
