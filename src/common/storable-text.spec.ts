import { storableText } from './storable-text';

describe(storableText.name, () => {
  it.each([
    ['plain text', 'Hello, world', 'Hello, world'],
    ['a NUL', 'Hello\u0000World', 'Hello\uFFFDWorld'],
    ['several NULs', '\u0000a\u0000', '\uFFFDa\uFFFD'],
    ['a lone high surrogate', 'x\uD800y', 'x\uFFFDy'],
    ['a lone low surrogate at the end', 'x\uDC00', 'x\uFFFD'],
    ['a real pair (emoji)', 'ok \uD83D\uDE00', 'ok \uD83D\uDE00'],
  ])('keeps %s storable', (_case, input, expected) => {
    expect(storableText(input)).toBe(expected);
  });

  it('passes null through', () => {
    expect(storableText(null)).toBeNull();
  });
});
