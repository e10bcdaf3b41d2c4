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
// word finds nothing: here any word may match, and ts_rank puts the documents
// matching more of them first.
const ANY_WORD_QUERY = `to_tsquery('english', NULLIF(replace(plainto_tsquery('english', :query)::text, ' & ', ' | '), ''))`;

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
    const strict = await this.searchWith(tenantId, EVERY_WORD_QUERY, query, limit);
    return strict.length > 0 ? strict : this.searchWith(tenantId, ANY_WORD_QUERY, query, limit);
  }

  private async searchWith(
    tenantId: string,
    tsquery: string,
    query: string,
    limit: number,
  ): Promise<DocumentHit[]> {
    const rows = await this.documents
      .queryBuilder(tenantId, 'd')
      .select('d.id', 'id')
      .addSelect('d.title', 'title')
      .addSelect(`ts_headline('english', d.content, ${tsquery}, :headline)`, 'snippet')
      .addSelect(`ts_rank(d.search, ${tsquery})`, 'rank')
      .andWhere(`d.search @@ ${tsquery}`)
      .setParameters({ query, headline: HEADLINE_OPTIONS })
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
