import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config';
import builtInPrices from './llm-prices.json';

/** USD per one million tokens. */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
}

const PER_TOKEN = 1 / 1_000_000;

/**
 * The dated per-model price table behind llm_cost_usd_total: a price per
 * model, never one flat rate. Loaded once at start from the built-in
 * llm-prices.json or LLM_PRICES_FILE; never fetched at run time.
 */
export class LlmPriceTable {
  private constructor(
    readonly asOf: string,
    private readonly prices: ReadonlyMap<string, ModelPrice>,
  ) {}

  /** The built-in table, or the file's; a bad file stops the start with a line naming LLM_PRICES_FILE. */
  static load(file: string | undefined): LlmPriceTable {
    if (file === undefined) return LlmPriceTable.parse(builtInPrices, 'built-in table');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new ConfigError('LLM_PRICES_FILE', 'a readable JSON price table', file);
    }
    return LlmPriceTable.parse(raw, file);
  }

  /**
   * Validates `{"as_of", "models": {name: {"input", "output", "source"?, "checked"?, "note"?}}}`.
   * The provenance fields are optional, so a table without them (the older format) still loads.
   */
  static parse(raw: unknown, source: string): LlmPriceTable {
    const fail = (why: string): never => {
      throw new ConfigError('LLM_PRICES_FILE', `a price table (${why})`, source);
    };
    if (typeof raw !== 'object' || raw === null) return fail('a JSON object');
    const { as_of: asOf, models } = raw as { as_of?: unknown; models?: unknown };
    if (!isIsoDate(asOf)) return fail('"as_of" as YYYY-MM-DD');
    if (typeof models !== 'object' || models === null) return fail('a "models" object');
    const prices = new Map<string, ModelPrice>();
    for (const [name, entry] of Object.entries(models)) {
      const { input, output, ...provenance } = (entry ?? {}) as Record<string, unknown>;
      if (!isPrice(input) || !isPrice(output)) {
        return fail(`"${name}" needs non-negative "input" and "output" USD per 1M tokens`);
      }
      const { source: from, checked, note } = provenance;
      if (from !== undefined && (typeof from !== 'string' || from.trim() === '')) {
        return fail(`"${name}" needs "source" as the text of where the price was read`);
      }
      if (checked !== undefined && !isIsoDate(checked)) {
        return fail(`"${name}" needs "checked" as YYYY-MM-DD`);
      }
      if (note !== undefined && typeof note !== 'string') {
        return fail(`"${name}" needs "note" as text`);
      }
      const key = normaliseModelName(name);
      // Two spellings of one model ("GPT-4o", "openai/gpt-4o") would silently keep the last price.
      if (prices.has(key)) return fail(`"${name}" is listed twice`);
      prices.set(key, { input, output });
    }
    return new LlmPriceTable(asOf, prices);
  }

  /**
   * The price of `model`, tolerant of provider prefixes (`openai/gpt-4o-mini`),
   * case, dated snapshots (`claude-sonnet-4-5-20250929`, `gpt-5-2025-08-07`) and
   * Bedrock ids (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`); undefined when unknown.
   */
  priceOf(model: string): ModelPrice | undefined {
    const name = normaliseModelName(model);
    return this.prices.get(name) ?? this.prices.get(withoutSnapshotSuffix(name));
  }

  /** True when {@link priceOf} finds a price for `model`. */
  has(model: string): boolean {
    return this.priceOf(model) !== undefined;
  }

  /** The table's model names, as the table matches them (lower case, no provider prefix). */
  models(): string[] {
    return [...this.prices.keys()];
  }

  /** USD for one call; 0 for a model the table does not know. */
  costUsd(model: string, promptTokens: number, completionTokens: number): number {
    const price = this.priceOf(model);
    if (!price) return 0;
    return (promptTokens * price.input + completionTokens * price.output) * PER_TOKEN;
  }
}

function isPrice(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** `YYYY-MM-DD` naming a real calendar day (`2026-02-30` is refused). */
function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const day = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
}

/**
 * `OpenAI/GPT-4o-mini` → `gpt-4o-mini`: routers (LiteLLM, OpenRouter) prefix the provider.
 * Bedrock prefixes Anthropic's ids with the vendor and an optional cross-region
 * profile (`us.anthropic.claude-…`, `global.anthropic.claude-…`).
 */
function normaliseModelName(model: string): string {
  const lower = model.trim().toLowerCase();
  return lower.slice(lower.lastIndexOf('/') + 1).replace(/^(?:[a-z-]+\.)?anthropic\./, '');
}

/**
 * `-20241022`, `-2024-07-18`, `@20240620` and `-latest` name snapshots of one priced model;
 * Bedrock adds a model version after the date (`-20250929-v1:0`).
 */
function withoutSnapshotSuffix(name: string): string {
  return name
    .replace(/(?<=\d{8})-v\d+(?::\d+)?$/, '')
    .replace(/(?:[-@]\d{8}|-\d{4}-\d{2}-\d{2}|-latest)$/, '');
}
