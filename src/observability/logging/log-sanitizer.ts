import { types } from 'node:util';
import { scrubText } from './scrub';

/** Bounds that keep one log call one reasonably sized line, whatever a user sent. */
export const LOG_LIMITS = {
  /** Longest string kept in a field: a 1 MB value must not become a 1 MB line. */
  maxStringLength: 2048,
  maxMessageLength: 1024,
  maxStackLength: 8192,
  maxKeyLength: 128,
  /** Nesting kept below the top-level fields; deeper values (and cycles) print as a marker. */
  maxDepth: 4,
  maxKeys: 50,
  maxArrayItems: 20,
  maxCauseDepth: 3,
} as const;

export const REDACTED = '[REDACTED]';

// Key-based rather than pino's path-based `redact`: a secret can sit at any
// depth of a logged object, and paths can only name the places known in advance.
const SECRET_KEY =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|token|bearer|credentials?)$|(?:secret|password|passwd|api[-_]?key|private[-_]?key|[-_]token|(?:access|refresh|id|auth|session|csrf)token)$/i;
const SECRET_VALUE = /^(?:bearer|basic)\s+\S/i;
/** Prompt and completion text (and the user input they are made of): logged only with content capture on. */
const CONTENT_KEY =
  /^(?:prompts?|completions?|messages|input|output|content|instructions|system_prompt|arguments)$/i;
/** Fields holding a URL or path: logged without query string, fragment or credentials. */
const URL_KEY = /^(?:url|uri|href|path|endpoint|location|referr?er)$/i;

export interface LogSanitizerOptions {
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: prompt and completion text may be logged. */
  readonly captureContent: boolean;
}

/**
 * Builds pino's `formatters.log`: redacts secrets (and, unless content capture
 * is on, prompt text) by key at any depth, strips query strings from URL
 * fields, serialises errors, and truncates long strings, deep nesting and big
 * collections. JSON escaping of CR, LF and ANSI escapes is pino's.
 */
export function createLogSanitizer(
  options: LogSanitizerOptions,
): (fields: Record<string, unknown>) => Record<string, unknown> {
  const sanitizer = new Sanitizer(options.captureContent);
  return (fields) => {
    try {
      return sanitizer.topLevel(fields);
    } catch {
      // A throwing getter or proxy in a logged object must not turn a log call into a failure.
      return primitiveFields(fields);
    }
  };
}

function primitiveFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { log_fields_dropped: true };
  for (const key of Object.keys(fields)) {
    try {
      const value = fields[key];
      if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
      else if (typeof value === 'string' && !SECRET_KEY.test(key) && !CONTENT_KEY.test(key)) {
        out[truncate(key, LOG_LIMITS.maxKeyLength)] = truncate(value);
      }
    } catch {
      // skip the field
    }
  }
  return out;
}

/** Keys whose values go to a pino serializer untouched (the serializer picks safe fields). */
const SERIALIZED_KEYS = new Set(['req', 'res']);

// What a key holds, decided once per key name: the regexes would otherwise run
// for every field of every line.
const PLAIN = 0;
const SECRET = 1;
const CONTENT = 2;
const URL_FIELD = 3;
type KeyKind = typeof PLAIN | typeof SECRET | typeof CONTENT | typeof URL_FIELD;
/** Key names are mostly the code's own; the bound keeps user-chosen ones from growing the cache. */
const KEY_CACHE_SIZE = 2000;

function classify(key: string): KeyKind {
  if (SECRET_KEY.test(key)) return SECRET;
  if (CONTENT_KEY.test(key)) return CONTENT;
  if (URL_KEY.test(key)) return URL_FIELD;
  return PLAIN;
}

class Sanitizer {
  private readonly kinds = new Map<string, KeyKind>();

  constructor(private readonly captureContent: boolean) {}

  private kindOf(key: string): KeyKind {
    // No field name is that long; a user-supplied one is not worth a regex over its length.
    if (key.length > LOG_LIMITS.maxKeyLength) return PLAIN;
    let kind = this.kinds.get(key);
    if (kind === undefined) {
      kind = classify(key);
      if (this.kinds.size < KEY_CACHE_SIZE) this.kinds.set(key, kind);
    }
    return kind;
  }

  // The object comes from the mixin merge, a fresh object per line, so its
  // top level is rewritten in place; nested objects belong to the caller and are copied.
  topLevel(fields: Record<string, unknown>): Record<string, unknown> {
    for (const key of Object.keys(fields)) {
      if (SERIALIZED_KEYS.has(key)) continue;
      const value = fields[key];
      const clean = this.entry(key, value, 0);
      if (key.length > LOG_LIMITS.maxKeyLength) {
        delete fields[key];
        fields[truncate(key, LOG_LIMITS.maxKeyLength)] = clean;
      } else if (clean !== value) {
        fields[key] = clean;
      }
    }
    return fields;
  }

  entry(key: string, value: unknown, depth: number): unknown {
    if (value === undefined || value === null) return value;
    switch (this.kindOf(key)) {
      case SECRET:
        return REDACTED;
      case CONTENT:
        return this.captureContent ? this.value(value, depth) : REDACTED;
      case URL_FIELD:
        return typeof value === 'string'
          ? truncate(stripUrlSecrets(value))
          : this.value(value, depth);
      case PLAIN:
        return this.value(value, depth);
    }
  }

  value(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case 'string':
        return looksLikeCredential(value) ? REDACTED : truncate(value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return value;
      case 'bigint':
        return value.toString();
      case 'symbol':
      case 'function':
        return undefined;
      case 'object':
        return value === null ? null : this.object(value, depth);
    }
  }

  private object(value: object, depth: number): unknown {
    if (isError(value)) return serializeError(value, this);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
    if (depth >= LOG_LIMITS.maxDepth) return Array.isArray(value) ? '[Array]' : '[Object]';
    if (Array.isArray(value)) {
      const items: unknown[] = value
        .slice(0, LOG_LIMITS.maxArrayItems)
        .map((item: unknown) => this.value(item, depth + 1));
      if (value.length > LOG_LIMITS.maxArrayItems) {
        items.push(`[${value.length - LOG_LIMITS.maxArrayItems} more]`);
      }
      return items;
    }
    if (value instanceof Map || value instanceof Set) {
      return `[${value.constructor.name} size=${value.size}]`;
    }
    const out: Record<string, unknown> = {};
    let count = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (++count > LOG_LIMITS.maxKeys) {
        out['[truncated]'] = `${Object.keys(value).length - LOG_LIMITS.maxKeys} more keys`;
        break;
      }
      out[truncate(key, LOG_LIMITS.maxKeyLength)] = this.entry(
        key,
        (value as Record<string, unknown>)[key],
        depth + 1,
      );
    }
    return out;
  }
}

const DEFAULT_SANITIZER = new Sanitizer(false);

/**
 * One string field, cleaned as the line sanitizer would clean it under that
 * key (for lines built without pino's object pipeline). Content keys are
 * redacted: this path has no content-capture setting.
 */
export function sanitizeLogString(key: string, value: string): string {
  const clean = DEFAULT_SANITIZER.entry(key, value, 0);
  return typeof clean === 'string' ? clean : REDACTED;
}

function looksLikeCredential(value: string): boolean {
  // Both schemes start with b; most strings are rejected without running the regex.
  return (value.charCodeAt(0) | 0x20) === 0x62 && SECRET_VALUE.test(value);
}

/** Errors from another realm (vm contexts, jest's sandbox) fail `instanceof Error`. */
export function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** Cuts a string to `max` characters and says how much was dropped. */
export function truncate(value: string, max: number = LOG_LIMITS.maxStringLength): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}...[truncated ${value.length - max} chars]`;
}

/** Drops query string, fragment and user:password@ from a URL or path. */
export function stripUrlSecrets(value: string): string {
  const end = value.search(/[?#]/);
  const withoutQuery = end === -1 ? value : value.slice(0, end);
  // A path (every access line's) has no scheme, so no credentials to strip.
  if (withoutQuery.charCodeAt(0) === 0x2f /* / */) return withoutQuery;
  return withoutQuery.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/**
 * An error as a log field: type, message and stack (truncated), code-like
 * primitive properties (secrets redacted) and the cause chain. Nested objects
 * on errors (request configs, sockets, headers) are left out.
 */
export function serializeError(
  error: unknown,
  sanitizer: Pick<Sanitizer, 'entry'> = DEFAULT_SANITIZER,
  depth = 0,
): unknown {
  if (!isError(error)) {
    return typeof error === 'object' && error !== null
      ? sanitizer.entry('error', error, 1)
      : { message: truncate(String(error)) };
  }
  const out: Record<string, unknown> = {
    type: error.name || error.constructor.name,
    message: truncate(scrubText(error.message)),
  };
  let extra = 0;
  for (const key of Object.keys(error)) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (key === 'cause' || (typeof value === 'object' && value !== null)) continue;
    if (typeof value === 'function' || ++extra > LOG_LIMITS.maxKeys) continue;
    out[truncate(key, LOG_LIMITS.maxKeyLength)] = sanitizer.entry(key, value, 1);
  }
  if (error.stack) out.stack = boundStack(error);
  if (error.cause !== undefined && depth < LOG_LIMITS.maxCauseDepth) {
    out.cause = serializeError(error.cause, sanitizer, depth + 1);
  }
  return out;
}

/**
 * The stack with its message line scrubbed and truncated first, so a huge
 * message does not push out the frames and a secret in it is not logged twice.
 */
function boundStack(error: Error): string {
  const stack = error.stack ?? '';
  const header = `${error.name}: ${error.message}`;
  const bounded = stack.startsWith(header)
    ? `${error.name}: ${truncate(scrubText(error.message))}${stack.slice(header.length)}`
    : scrubText(stack);
  return truncate(bounded, LOG_LIMITS.maxStackLength);
}
