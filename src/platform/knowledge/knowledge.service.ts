import { Injectable } from '@nestjs/common';
import { InjectTenantScopedRepository, TenantScopedRepository } from '../tenants';
import { Document } from './document.entity';
import { DEFAULT_LIST_LIMIT } from './dto/list-documents.query';

export interface DocumentHit {
  id: string;
  title: string;
  /** A short excerpt around the matched words (ts_headline), matches wrapped in ** **. */
  snippet: string;
  rank: number;
}

const EVERY_WORD_QUERY = `websearch_to_tsquery('english', :query)`;
// Agents ask in sentences ("how long do refunds take?"), where requiring every
// word finds nothing: here any of the free words may match, and ts_rank puts
// the documents matching more of them first.
const ANY_FREE_WORD = `to_tsquery('english', NULLIF(replace(plainto_tsquery('english', :words)::text, ' & ', ' | '), ''))`;

// Short excerpts keep tool results (and so the next prompt) small.
const HEADLINE_OPTIONS = 'MaxWords=30, MinWords=10, MaxFragments=2, StartSel=**, StopSel=**';

/**
 * The tenant's documents. Every read and write goes through the
 * tenant-scoped repository: a query that forgets the tenant cannot be written.
 */
@Injectable()
export class KnowledgeService {
  constructor(
    @InjectTenantScopedRepository(Document)
    private readonly documents: TenantScopedRepository<Document>,
  ) {}

  create(tenantId: string, input: { title: string; content: string }): Promise<Document> {
    return this.documents.insert(tenantId, { title: input.title, content: input.content });
  }

  /** Newest first. */
  list(tenantId: string, limit = DEFAULT_LIST_LIMIT): Promise<Document[]> {
    return this.documents.list(tenantId, {
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
    });
  }

  /**
   * PostgreSQL full-text search over the tenant's documents, best match first.
   * The query is web-search syntax ("refund policy", "-draft", "\"exact phrase\""),
   * passed as a parameter. When every word is required and nothing matches, the
   * search is repeated matching any word, ranked by how many match: agents ask in
   * sentences. A query of stop words alone matches nothing.
   */
  async search(tenantId: string, query: string, limit: number): Promise<DocumentHit[]> {
    const strict = await this.searchWith(tenantId, EVERY_WORD_QUERY, { query }, limit);
    if (strict.length > 0) return strict;
    const relaxed = relaxedQuery(query);
    return relaxed ? this.searchWith(tenantId, relaxed.tsquery, relaxed.parameters, limit) : [];
  }

  private async searchWith(
    tenantId: string,
    tsquery: string,
    parameters: Record<string, string>,
    limit: number,
  ): Promise<DocumentHit[]> {
    const rows = await this.documents
      .queryBuilder(tenantId, 'd')
      .select('d.id', 'id')
      .addSelect('d.title', 'title')
      .addSelect(`ts_headline('english', d.content, ${tsquery}, :headline)`, 'snippet')
      .addSelect(`ts_rank(d.search, ${tsquery})`, 'rank')
      .andWhere(`d.search @@ ${tsquery}`)
      .setParameters({ ...parameters, headline: HEADLINE_OPTIONS })
      .orderBy('rank', 'DESC')
      .addOrderBy('d.created_at', 'DESC')
      .limit(limit)
      .getRawMany<{ id: string; title: string; snippet: string; rank: number | string }>();
    return rows.map((row) => ({
      id: row.id,
      title: row.title,
      snippet: row.snippet,
      rank: Number(row.rank),
    }));
  }
}

/**
 * The fallback of a web-search query: its free words any-of, but what the
 * user marked stays as marked: a "quoted phrase" is still required and a
 * -word (or -"phrase") still excluded. Undefined when no free word is left
 * to relax (the strict search already said everything).
 */
function relaxedQuery(
  query: string,
): { tsquery: string; parameters: Record<string, string> } | undefined {
  const parts = webSearchParts(query);
  if (parts.words.trim() === '') return undefined;
  const parameters: Record<string, string> = { words: parts.words };
  const clauses = [ANY_FREE_WORD];
  parts.phrases.forEach((phrase, i) => {
    parameters[`phrase${i}`] = `"${phrase}"`;
    clauses.push(`websearch_to_tsquery('english', :phrase${i})`);
  });
  parts.excluded.forEach((term, i) => {
    parameters[`excluded${i}`] = term;
    clauses.push(`!! websearch_to_tsquery('english', :excluded${i})`);
  });
  return { tsquery: `(${clauses.join(' && ')})`, parameters };
}

/** Splits web-search syntax the way websearch_to_tsquery reads it: "phrases", -exclusions, the rest. */
function webSearchParts(query: string): { phrases: string[]; excluded: string[]; words: string } {
  const phrases: string[] = [];
  const excluded: string[] = [];
  const words: string[] = [];
  // A quote left open runs to the end, as websearch_to_tsquery reads it.
  for (const match of query.matchAll(/(-?)(?:"([^"]*)"?|(\S+))/g)) {
    const [, minus, phrase, word] = match;
    if (phrase !== undefined) {
      if (phrase.trim() === '') continue;
      if (minus) excluded.push(`"${phrase}"`);
      else phrases.push(phrase);
    } else if (minus && word) {
      excluded.push(word);
    } else if (word) {
      words.push(word);
    }
  }
  return { phrases, excluded, words: words.join(' ') };
}
