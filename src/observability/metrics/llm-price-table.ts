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
 * The dated per-model price table behind llm_cost_usd_total (SPEC 10.4: a
 * price per model, never one flat rate). Loaded once at start from the
 * built-in llm-prices.json or LLM_PRICES_FILE; never fetched at run time.
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

  /** Validates `{"as_of", "models": {name: {"input", "output"}}}`. */
  static parse(raw: unknown, source: string): LlmPriceTable {
    const fail = (why: string): never => {
      throw new ConfigError('LLM_PRICES_FILE', `a price table (${why})`, source);
    };
    if (typeof raw !== 'object' || raw === null) return fail('a JSON object');
    const { as_of: asOf, models } = raw as { as_of?: unknown; models?: unknown };
    if (typeof asOf !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(asOf)) {
      return fail('"as_of" as YYYY-MM-DD');
    }
    if (typeof models !== 'object' || models === null) return fail('a "models" object');
    const prices = new Map<string, ModelPrice>();
    for (const [name, price] of Object.entries(models)) {
      const { input, output } = (price ?? {}) as { input?: unknown; output?: unknown };
      if (!isPrice(input) || !isPrice(output)) {
        return fail(`"${name}" needs non-negative "input" and "output" USD per 1M tokens`);
      }
      prices.set(normaliseModelName(name), { input, output });
    }
    return new LlmPriceTable(asOf, prices);
  }

  /**
   * The price of `model`, tolerant of provider prefixes (`openai/gpt-4o-mini`),
   * case and dated snapshots (`claude-3-5-sonnet-20241022`); undefined when unknown.
   */
  priceOf(model: string): ModelPrice | undefined {
    const name = normaliseModelName(model);
    return this.prices.get(name) ?? this.prices.get(withoutSnapshotSuffix(name));
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

/** `OpenAI/GPT-4o-mini` → `gpt-4o-mini`: routers (LiteLLM, OpenRouter) prefix the provider. */
function normaliseModelName(model: string): string {
  const lower = model.trim().toLowerCase();
  return lower.slice(lower.lastIndexOf('/') + 1);
}

/** `-20241022`, `-2024-07-18`, `@20240620` and `-latest` name snapshots of one priced model. */
function withoutSnapshotSuffix(name: string): string {
  return name.replace(/(?:[-@]\d{8}|-\d{4}-\d{2}-\d{2}|-latest)$/, '');
}
