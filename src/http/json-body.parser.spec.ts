import { BadRequestException } from '@nestjs/common';
import {
  BodyRejectedException,
  MAX_BODY_ARRAY_LENGTH,
  MAX_BODY_DEPTH,
  parseJsonBody,
} from './json-body.parser';

function refusal(text: string): BadRequestException {
  try {
    parseJsonBody(text);
  } catch (error) {
    if (error instanceof BadRequestException) return error;
    throw error;
  }
  throw new Error('expected the body to be refused');
}

describe(parseJsonBody.name, () => {
  it('parses a JSON object', () => {
    expect(parseJsonBody('{"title":"a","tags":["x"],"n":{"m":1}}')).toEqual({
      title: 'a',
      tags: ['x'],
      n: { m: 1 },
    });
  });

  it.each([
    ['a NUL in a field', '{"title":"a\\u0000b"}', 'title must not contain NUL characters'],
    ['a NUL in a nested field', '{"a":{"b":["ok","x\\u0000"]}}', 'a.b[1] must not contain NUL'],
    ['a NUL in a key', '{"ti\\u0000tle":"a"}', 'must not contain NUL characters'],
    ['a lone high surrogate', '{"input":"x\\ud800y"}', 'input must be well-formed Unicode'],
    ['a lone low surrogate', '{"input":"\\udc00"}', 'input must be well-formed Unicode'],
    ['a __proto__ key', '{"__proto__":{"polluted":1}}', 'The key "__proto__" is not allowed'],
    ['a constructor key', '{"a":{"constructor":{"prototype":{}}}}', '"constructor" is not allowed'],
  ])('refuses %s, naming it', (_case, text, message) => {
    const error = refusal(text);
    expect(error).toBeInstanceOf(BodyRejectedException);
    expect(error.message).toContain(message);
  });

  it('keeps a well-formed surrogate pair (an emoji)', () => {
    expect(parseJsonBody('{"input":"\\ud83d\\ude00"}')).toEqual({ input: '😀' });
  });

  it(`refuses a body nested ${5000} levels deep without overflowing the stack`, () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const error = refusal(deep);
    expect(error).toBeInstanceOf(BodyRejectedException);
    expect(error.message).toContain(`nested deeper than ${MAX_BODY_DEPTH} levels`);
  });

  it(`accepts ${MAX_BODY_DEPTH} levels and refuses one more`, () => {
    const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
    expect(() => parseJsonBody(nested(MAX_BODY_DEPTH))).not.toThrow();
    expect(refusal(nested(MAX_BODY_DEPTH + 1))).toBeInstanceOf(BodyRejectedException);
  });

  it('refuses an array longer than the bound, naming it', () => {
    const items = JSON.stringify({
      tools: Array.from({ length: MAX_BODY_ARRAY_LENGTH + 1 }, () => 1),
    });
    expect(refusal(items).message).toBe(`tools has more than ${MAX_BODY_ARRAY_LENGTH} items`);
  });

  it.each([
    ['malformed JSON', '{"title":', 'not valid JSON'],
    ['an empty body', '  ', 'empty'],
    ['a JSON string', '"agent"', 'must be a JSON object'],
    ['a JSON array', '[1]', 'must be a JSON object'],
  ])('answers %s as a plain 400', (_case, text, message) => {
    const error = refusal(text);
    expect(error).not.toBeInstanceOf(BodyRejectedException);
    expect(error.message).toContain(message);
  });
});
