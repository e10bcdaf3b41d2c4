import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config';
import { LlmPriceTable } from './llm-price-table';
import builtInPrices from './llm-prices.json';

describe(LlmPriceTable.name, () => {
  const builtIn = LlmPriceTable.load(undefined);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eap-prices-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function writeTable(name: string, content: string): string {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }

  it('ships a dated table with the common models and the simulator models', () => {
    expect(builtIn.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const model of ['gpt-4o-mini', 'gpt-5', 'claude-sonnet-4-5', 'sim-small', 'sim-large']) {
      expect(builtIn.priceOf(model)).toBeDefined();
    }
  });

  it('prices per model from USD per million input and output tokens', () => {
    // gpt-4o-mini: 0.15 in, 0.60 out
    expect(builtIn.costUsd('gpt-4o-mini', 1_000_000, 1_000_000)).toBeCloseTo(0.75, 10);
    expect(builtIn.costUsd('gpt-4o', 150, 300)).toBeCloseTo((150 * 2.5 + 300 * 10) / 1e6, 12);
  });

  it('matches names with a provider prefix, other case, or a dated snapshot suffix', () => {
    const plain = builtIn.priceOf('gpt-4o-mini');
    expect(builtIn.priceOf('openai/gpt-4o-mini')).toEqual(plain);
    expect(builtIn.priceOf('OpenAI/GPT-4o-mini')).toEqual(plain);
    expect(builtIn.priceOf('gpt-4o-mini-2024-07-18')).toEqual(plain);
    expect(builtIn.priceOf('anthropic/claude-sonnet-4-5-20250929')).toEqual(
      builtIn.priceOf('claude-sonnet-4-5'),
    );
  });

  it.each([
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-opus-4-5-20251101', 'claude-opus-4-5'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['vertex_ai/claude-sonnet-4-5@20250929', 'claude-sonnet-4-5'],
    ['bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['bedrock/anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['gpt-5-2025-08-07', 'gpt-5'],
    ['gpt-5.1-2025-11-13', 'gpt-5.1'],
    ['openai/gpt-5.4-2026-03-05', 'gpt-5.4'],
    ['gpt-5.4-mini-2026-03-17', 'gpt-5.4-mini'],
    ['o3-2025-04-16', 'o3'],
    ['gemini/gemini-2.5-pro', 'gemini-2.5-pro'],
    ['deepseek/deepseek-v4-pro', 'deepseek-v4-pro'],
  ])('prices the real snapshot name %s as %s', (snapshot, base) => {
    expect(builtIn.priceOf(base)).toBeDefined();
    expect(builtIn.priceOf(snapshot)).toEqual(builtIn.priceOf(base));
  });

  it('strips a Bedrock version only after a date, so a versioned name is not another model', () => {
    const table = LlmPriceTable.parse(
      { as_of: '2026-12-01', models: { 'house-model': { input: 1, output: 2 } } },
      'test table',
    );
    expect(table.priceOf('house-model-v2')).toBeUndefined();
    expect(table.priceOf('house-model-v2:0')).toBeUndefined();
    expect(table.priceOf('house-model-20261201-v2:0')).toEqual({ input: 1, output: 2 });
  });

  it('gives every built-in price a source and the day it was read', () => {
    const entries = Object.entries(builtInPrices.models as Record<string, Record<string, unknown>>);
    const priced = entries.filter(([name]) => !name.startsWith('sim-'));
    expect(priced.length).toBeGreaterThan(40);
    for (const [name, entry] of priced) {
      expect([name, entry.source]).toEqual([name, expect.stringMatching(/^https:\/\/\S+$/)]);
      expect([name, entry.checked]).toEqual([name, expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/)]);
      expect((entry.checked as string) <= builtIn.asOf).toBe(true);
    }
  });

  it('leaves out the models whose price was not confirmed and those withdrawn', () => {
    const left = [
      ...Object.keys(builtInPrices.not_confirmed),
      ...Object.keys(builtInPrices.withdrawn),
    ].filter((name) => !name.includes(' '));
    expect(left).toEqual(expect.arrayContaining(['gpt-5.6-sol', 'claude-3-5-sonnet']));
    for (const name of left) expect([name, builtIn.has(name)]).toEqual([name, false]);
  });

  it('costs nothing for a model the table does not know', () => {
    expect(builtIn.priceOf('my-private-model')).toBeUndefined();
    expect(builtIn.costUsd('my-private-model', 1000, 1000)).toBe(0);
  });

  it('tells which models it prices, under the names it matches', () => {
    const table = LlmPriceTable.parse(
      {
        as_of: '2026-12-01',
        models: { 'OpenAI/GPT-X': { input: 1, output: 2 }, 'house-model': { input: 0, output: 0 } },
      },
      'test table',
    );
    expect(table.models()).toEqual(['gpt-x', 'house-model']);
    expect(table.has('openai/gpt-x-2026-11-30')).toBe(true);
    expect(table.has('house-model')).toBe(true);
    expect(table.has('gpt-y')).toBe(false);
    table.models().pop();
    expect(table.models()).toHaveLength(2);
    expect(builtIn.models()).toEqual(expect.arrayContaining(['gpt-5', 'claude-sonnet-4-5']));
    expect(builtIn.models().every((name) => builtIn.has(name))).toBe(true);
  });

  it('reads provenance fields when a table has them', () => {
    const file = writeTable(
      'provenance.json',
      JSON.stringify({
        as_of: '2026-12-01',
        models: {
          'house-model': {
            input: 1,
            output: 2,
            source: 'https://example.com/pricing',
            checked: '2026-11-30',
            note: 'standard tier',
          },
        },
      }),
    );
    expect(LlmPriceTable.load(file).priceOf('house-model')).toEqual({ input: 1, output: 2 });
  });

  it('reads LLM_PRICES_FILE instead of the built-in table', () => {
    const file = writeTable(
      'prices.json',
      JSON.stringify({ as_of: '2026-01-31', models: { 'house-model': { input: 1, output: 2 } } }),
    );
    const table = LlmPriceTable.load(file);
    expect(table.asOf).toBe('2026-01-31');
    expect(table.costUsd('house-model', 1_000_000, 500_000)).toBe(2);
    expect(table.priceOf('gpt-4o')).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['no date', JSON.stringify({ models: {} })],
    [
      'a negative price',
      JSON.stringify({ as_of: '2026-01-01', models: { m: { input: -1, output: 1 } } }),
    ],
    [
      'a missing output price',
      JSON.stringify({ as_of: '2026-01-01', models: { m: { input: 1 } } }),
    ],
    ['an impossible date', JSON.stringify({ as_of: '2026-02-30', models: {} })],
  ])('stops the start naming LLM_PRICES_FILE for a table with %s', (_case, content) => {
    const file = writeTable('bad.json', content);
    expect(() => LlmPriceTable.load(file)).toThrow(ConfigError);
    try {
      LlmPriceTable.load(file);
    } catch (error) {
      expect((error as ConfigError).variable).toBe('LLM_PRICES_FILE');
    }
  });

  const priced = (extra: Record<string, unknown>): string =>
    JSON.stringify({ as_of: '2026-12-01', models: { m: { input: 1, output: 2, ...extra } } });

  it.each([
    ['"checked" in another date format', priced({ checked: '01/12/2026' }), /"m" needs "checked"/],
    ['"checked" on a day that does not exist', priced({ checked: '2026-13-01' }), /"checked"/],
    ['"checked" as a number', priced({ checked: 20261201 }), /"m" needs "checked"/],
    ['an empty "source"', priced({ source: ' ' }), /"m" needs "source"/],
    ['a "source" that is not text', priced({ source: 42 }), /"m" needs "source"/],
    ['a "note" that is not text', priced({ note: ['x'] }), /"m" needs "note"/],
    [
      'one model listed under two spellings',
      JSON.stringify({
        as_of: '2026-12-01',
        models: { 'GPT-4o': { input: 1, output: 2 }, 'openai/gpt-4o': { input: 3, output: 4 } },
      }),
      /"openai\/gpt-4o" is listed twice/,
    ],
  ])('refuses a table with %s, in one line naming LLM_PRICES_FILE', (_case, content, why) => {
    const file = writeTable('bad-provenance.json', content);
    let message = '';
    try {
      LlmPriceTable.load(file);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid configuration: LLM_PRICES_FILE=/);
    expect(message).toContain(file.slice(0, 40));
    expect(message).toMatch(why);
    expect(message).not.toContain('\n');
  });

  it('stops the start for a missing file', () => {
    expect(() => LlmPriceTable.load(join(dir, 'missing.json'))).toThrow(/LLM_PRICES_FILE/);
  });
});
