import { Injectable } from '@nestjs/common';
import { TraceTool } from '../../../observability/observers';
import { KnowledgeService } from '../../knowledge';
import { TOOL_CALL, ToolError } from '../tool.types';
import type { AgentTool, ToolContext } from '../tool.types';

export const KB_SEARCH_DEFAULT_LIMIT = 5;
export const KB_SEARCH_MAX_LIMIT = 20;
const MAX_QUERY_LENGTH = 500;

@Injectable()
export class KbSearchTool implements AgentTool {
  readonly name = 'kb_search';
  readonly description =
    "Full-text search over the organisation's knowledge-base documents. Returns the best " +
    'matching documents with a short excerpt each.';
  readonly parameters = {
    type: 'object',
    properties: {
      query: {
        type: 'string',
        description:
          'Search words, web-search style: "refund policy", "\\"exact phrase\\"", "-excluded"',
        maxLength: MAX_QUERY_LENGTH,
      },
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: KB_SEARCH_MAX_LIMIT,
        description: `How many documents at most (default ${KB_SEARCH_DEFAULT_LIMIT})`,
      },
    },
    required: ['query'],
    additionalProperties: false,
  };

  constructor(private readonly knowledge: KnowledgeService) {}

  /** Searches only context.tenantId's documents: the tenant comes from the caller, never from the model. */
  @TraceTool(TOOL_CALL)
  async execute(args: Record<string, unknown>, context: ToolContext): Promise<string> {
    const { query, limit = KB_SEARCH_DEFAULT_LIMIT } = args;
    if (typeof query !== 'string' || query.trim() === '') {
      throw new ToolError('"query" must be a non-empty string');
    }
    // PostgreSQL cannot take U+0000 in text: said to the model instead of failing as a crash.
    if (query.includes('\u0000')) {
      throw new ToolError('"query" must not contain NUL characters');
    }
    if (query.length > MAX_QUERY_LENGTH) {
      throw new ToolError(`"query" is too long (at most ${MAX_QUERY_LENGTH} characters)`);
    }
    if (
      typeof limit !== 'number' ||
      !Number.isInteger(limit) ||
      limit < 1 ||
      limit > KB_SEARCH_MAX_LIMIT
    ) {
      throw new ToolError(`"limit" must be an integer from 1 to ${KB_SEARCH_MAX_LIMIT}`);
    }
    const hits = await this.knowledge.search(context.tenantId, query, limit);
    if (hits.length === 0) return 'No documents matched.';
    return hits
      .map((hit, index) => `${index + 1}. ${hit.title}: ${oneLine(hit.snippet)}`)
      .join('\n');
  }
}

/** One hit per line, so the model (and the simulator) can tell hits apart. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
