import { runInNewContext } from 'node:vm';
import {
  createLogSanitizer,
  LOG_LIMITS,
  REDACTED,
  serializeError,
  stripUrlSecrets,
  truncate,
} from './log-sanitizer';

describe('createLogSanitizer', () => {
  const sanitize = createLogSanitizer({ captureContent: false });

  it('redacts credentials by key at any depth, whatever their case', () => {
    const out = sanitize({
      event: 'x',
      headers: { Authorization: 'Bearer abc', cookie: 'sid=1', 'x-api-key': 'k1' },
      body: { nested: { api_key: 'k2', apiKey: 'k3', client_secret: 's', password: 'p' } },
      access_token: 't',
      refreshToken: 'r',
    });
    expect(out).toEqual({
      event: 'x',
      headers: { Authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED },
      body: {
        nested: {
          api_key: REDACTED,
          apiKey: REDACTED,
          client_secret: REDACTED,
          password: REDACTED,
        },
      },
      access_token: REDACTED,
      refreshToken: REDACTED,
    });
  });

  it('keeps token counts, which are not secrets', () => {
    const fields = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, max_tokens: 9 };
    expect(sanitize({ ...fields })).toEqual(fields);
  });

  it('redacts Bearer and Basic credentials under any key', () => {
    expect(sanitize({ note: 'Bearer eap_secret', other: 'basic dXNlcjpwYXNz' })).toEqual({
      note: REDACTED,
      other: REDACTED,
    });
  });

  it('redacts prompt and completion text unless content capture is on', () => {
    const fields = () => ({
      messages: [{ role: 'user', content: 'my secret prompt' }],
      input: 'my secret prompt',
      completion: 'the answer',
      model: 'gpt-4o',
    });
    expect(sanitize(fields())).toEqual({
      messages: REDACTED,
      input: REDACTED,
      completion: REDACTED,
      model: 'gpt-4o',
    });
    expect(createLogSanitizer({ captureContent: true })(fields())).toEqual(fields());
  });

  it('logs URL fields without query string, fragment or credentials', () => {
    expect(
      sanitize({ url: 'https://user:pw@llm.local/v1/chat?token=abc#frag', path: '/v1/x?token=y' }),
    ).toEqual({ url: 'https://llm.local/v1/chat', path: '/v1/x' });
  });

  it('truncates a 1 MB string to a bounded field that says how much was cut', () => {
    const huge = 'a'.repeat(1024 * 1024);
    const { value } = sanitize({ value: huge }) as { value: string };
    expect(value.length).toBeLessThan(LOG_LIMITS.maxStringLength + 50);
    expect(value).toMatch(/\.\.\.\[truncated 1046528 chars\]$/);
  });

  it('bounds nesting, cycles, long arrays and wide objects', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const wide = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]));
    const out = sanitize({
      cyclic,
      list: Array.from({ length: 25 }, (_, i) => i),
      wide,
    }) as { cyclic: unknown; list: unknown[]; wide: Record<string, unknown> };
    expect(JSON.stringify(out.cyclic)).toContain('[Object]');
    expect(out.list).toHaveLength(LOG_LIMITS.maxArrayItems + 1);
    expect(out.list.at(-1)).toBe('[5 more]');
    expect(Object.keys(out.wide)).toHaveLength(LOG_LIMITS.maxKeys + 1);
    expect(out.wide['[truncated]']).toBe('10 more keys');
  });

  it('does not modify the objects the caller passed', () => {
    const body = { api_key: 'k', text: 'x'.repeat(5000) };
    sanitize({ body });
    expect(body.api_key).toBe('k');
    expect(body.text).toHaveLength(5000);
  });

  it('never throws into the caller: a throwing getter drops the object fields, keeping the rest', () => {
    const hostile = {
      get boom(): string {
        throw new Error('getter');
      },
    };
    expect(sanitize({ event: 'x', request_id: 'r', status: 200, hostile })).toEqual({
      log_fields_dropped: true,
      event: 'x',
      request_id: 'r',
      status: 200,
    });
  });

  it('serialises nested errors and non-JSON values', () => {
    const out = sanitize({
      failure: new TypeError('bad'),
      when: new Date(0),
      bytes: Buffer.from('abc'),
      big: 10n,
      fn: () => 1,
    });
    expect(out.failure).toMatchObject({ type: 'TypeError', message: 'bad' });
    expect(out.when).toBe('1970-01-01T00:00:00.000Z');
    expect(out.bytes).toBe('[Buffer 3 bytes]');
    expect(out.big).toBe('10');
    expect(out.fn).toBeUndefined();
  });
});

describe('serializeError', () => {
  it('keeps type, message, stack frames and the cause chain', () => {
    const cause = new Error('socket hang up');
    const error = new Error('LLM request failed', { cause });
    const out = serializeError(error) as Record<string, unknown>;
    expect(out).toMatchObject({ type: 'Error', message: 'LLM request failed' });
    expect(out.stack).toMatch(/^Error: LLM request failed\n\s+at /);
    expect(out.cause).toMatchObject({ type: 'Error', message: 'socket hang up' });
  });

  it('truncates a huge message inside the stack too, keeping the frames', () => {
    const error = new Error('x'.repeat(1024 * 1024));
    const out = serializeError(error) as { message: string; stack: string };
    expect(out.message.length).toBeLessThan(LOG_LIMITS.maxStringLength + 50);
    expect(out.stack.length).toBeLessThanOrEqual(LOG_LIMITS.maxStackLength + 50);
    expect(out.stack).toMatch(/\n\s+at /);
  });

  it('keeps code-like primitive properties and drops nested objects that may hold headers', () => {
    const error = Object.assign(new Error('boom'), {
      code: 'ECONNRESET',
      status: 502,
      apiKey: 'sk-live',
      config: { headers: { authorization: 'Bearer x' } },
    });
    const out = serializeError(error) as Record<string, unknown>;
    expect(out).toMatchObject({ code: 'ECONNRESET', status: 502, apiKey: REDACTED });
    expect(out).not.toHaveProperty('config');
  });

  it('recognises errors from another realm (vm contexts, jest sandboxes)', () => {
    const foreign: unknown = runInNewContext('new RangeError("elsewhere")');
    expect(foreign instanceof Error).toBe(false);
    expect(serializeError(foreign)).toMatchObject({ type: 'RangeError', message: 'elsewhere' });
  });

  it('describes thrown non-errors', () => {
    expect(serializeError('plain string')).toEqual({ message: 'plain string' });
  });
});

describe('truncate and stripUrlSecrets', () => {
  it('leaves short values alone', () => {
    expect(truncate('short')).toBe('short');
    expect(stripUrlSecrets('/v1/agents')).toBe('/v1/agents');
  });

  it('drops query, fragment and credentials from URLs, and query and fragment from paths', () => {
    expect(stripUrlSecrets('https://user:pw@example.com:8443/a?token=1#f')).toBe(
      'https://example.com:8443/a',
    );
    expect(stripUrlSecrets('redis://:secret@redis:6379/0')).toBe('redis://redis:6379/0');
    expect(stripUrlSecrets('/v1/agents/1?key=secret')).toBe('/v1/agents/1');
    expect(stripUrlSecrets('/v1/a#frag')).toBe('/v1/a');
    // A path that merely looks like it has credentials is a path.
    expect(stripUrlSecrets('/x/user:pw@host')).toBe('/x/user:pw@host');
  });
});
