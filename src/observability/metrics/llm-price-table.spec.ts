import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config';
import { LlmPriceTable } from './llm-price-table';

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
    for (const model of ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet', 'sim-small', 'sim-large']) {
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
    expect(builtIn.priceOf('anthropic/claude-3-5-sonnet-20241022')).toEqual(
      builtIn.priceOf('claude-3-5-sonnet'),
    );
  });

  it('costs nothing for a model the table does not know', () => {
    expect(builtIn.priceOf('my-private-model')).toBeUndefined();
    expect(builtIn.costUsd('my-private-model', 1000, 1000)).toBe(0);
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
  ])('stops the start naming LLM_PRICES_FILE for a table with %s', (_case, content) => {
    const file = writeTable('bad.json', content);
    expect(() => LlmPriceTable.load(file)).toThrow(ConfigError);
    try {
      LlmPriceTable.load(file);
    } catch (error) {
      expect((error as ConfigError).variable).toBe('LLM_PRICES_FILE');
    }
  });

  it('stops the start for a missing file', () => {
    expect(() => LlmPriceTable.load(join(dir, 'missing.json'))).toThrow(/LLM_PRICES_FILE/);
  });
});
