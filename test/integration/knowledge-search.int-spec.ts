import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { Env, loadConfig } from '../../src/config';
import { dataSourceOptions } from '../../src/database';
import { Document } from '../../src/platform/knowledge/document.entity';
import { KnowledgeService } from '../../src/platform/knowledge/knowledge.service';
import { TenantScopedRepository } from '../../src/platform/tenants';
import { KbSearchTool } from '../../src/platform/tools/kb-search/kb-search.tool';
import { createTestDatabase, TestDatabase } from '../helpers/database';

interface Fixture {
  source: DataSource;
  cleanup(): Promise<void>;
}

async function openDatabase(env: Env, cleanup: () => Promise<void>): Promise<Fixture> {
  const source = new DataSource(dataSourceOptions(loadConfig(env), [Document]));
  await source.initialize();
  return {
    source,
    cleanup: async () => {
      await source.destroy();
      await cleanup();
    },
  };
}

async function createTenant(source: DataSource, name: string): Promise<string> {
  const [row] = await source.query(
    `INSERT INTO tenants (name, daily_token_limit, monthly_token_limit) VALUES ($1, 1000, 10000) RETURNING id`,
    [name],
  );
  return row.id;
}

const MODES: [string, () => Promise<Fixture>][] = [
  [
    'on the real PostgreSQL',
    async () => {
      const db: TestDatabase = await createTestDatabase('knowledge');
      return openDatabase({ DATABASE_URL: db.url }, () => db.drop());
    },
  ],
  [
    'on the embedded database (PGlite)',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'eap-knowledge-'));
      return openDatabase({ DATA_DIR: dataDir }, () => {
        rmSync(dataDir, { recursive: true, force: true });
        return Promise.resolve();
      });
    },
  ],
];

describe.each(MODES)('knowledge search %s', (_mode, open) => {
  let fixture: Fixture;
  let knowledge: KnowledgeService;
  let kbSearch: KbSearchTool;
  let acme: string;
  let globex: string;

  beforeAll(async () => {
    fixture = await open();
    knowledge = new KnowledgeService(
      new TenantScopedRepository(fixture.source.getRepository(Document)),
    );
    kbSearch = new KbSearchTool(knowledge);
    acme = await createTenant(fixture.source, 'acme');
    globex = await createTenant(fixture.source, 'globex');
    await knowledge.create(acme, {
      title: 'Refund policy',
      content:
        'Customers may request a refund within 30 days of purchase. Refunds are paid back to the original card within five business days.',
    });
    await knowledge.create(acme, {
      title: 'Shipping',
      content: 'Orders ship within two days. International shipping takes up to two weeks.',
    });
    await knowledge.create(acme, {
      title: 'Holiday calendar',
      content: 'The office is closed on public holidays. Refund requests wait until we reopen.',
    });
    await knowledge.create(globex, {
      title: 'Globex refunds',
      content: 'Globex never refunds anything. This is a secret of another tenant.',
    });
  });
  afterAll(() => fixture?.cleanup());

  it("finds only the calling tenant's documents, best match first", async () => {
    const hits = await knowledge.search(acme, 'refund', 10);
    expect(hits.map((hit) => hit.title)).toEqual(['Refund policy', 'Holiday calendar']);
    expect(hits[0].rank).toBeGreaterThan(hits[1].rank);
    expect(hits[0].snippet).toContain('**');

    const other = await knowledge.search(globex, 'refund', 10);
    expect(other.map((hit) => hit.title)).toEqual(['Globex refunds']);
  });

  it('stems words and accepts web-search syntax', async () => {
    expect((await knowledge.search(acme, 'refunded', 10)).length).toBe(2);
    expect((await knowledge.search(acme, 'refund -holidays', 10)).map((hit) => hit.title)).toEqual([
      'Refund policy',
    ]);
    expect((await knowledge.search(acme, '"two weeks"', 10)).map((hit) => hit.title)).toEqual([
      'Shipping',
    ]);
  });

  it('falls back to any word for questions in sentences', async () => {
    const hits = await knowledge.search(acme, 'how long does a refund usually take?', 10);
    expect(hits[0]?.title).toBe('Refund policy');
  });

  it('keeps -excluded words when it falls back to any word', async () => {
    // No document has every word ("usually"), so the fallback runs: the holiday one stays out.
    const hits = await knowledge.search(acme, 'refund requests usually -holidays', 10);
    expect(hits.map((hit) => hit.title)).toEqual(['Refund policy']);
    expect(
      (await knowledge.search(acme, 'refunds usually -"public holidays"', 10)).map((h) => h.title),
    ).toEqual(['Refund policy']);
  });

  it('keeps "quoted phrases" required when it falls back to any word', async () => {
    // "two weeks" appears only in Shipping; "refund" alone would bring in two other documents.
    const hits = await knowledge.search(acme, '"two weeks" orders refund usually', 10);
    expect(hits.map((hit) => hit.title)).toEqual(['Shipping']);
  });

  it('does not fall back when the words left are only stop words', async () => {
    expect(await knowledge.search(acme, '"five business weeks" the', 10)).toEqual([]);
  });

  it('treats hostile queries as plain search text', async () => {
    for (const query of ["'; DROP TABLE documents; --", '!!!', '(', 'refund & | ! :*']) {
      await expect(knowledge.search(acme, query, 5)).resolves.toEqual(expect.any(Array));
    }
    expect((await knowledge.search(acme, 'the', 5)).length).toBe(0);
    const [{ count }] = await fixture.source.query(`SELECT count(*)::int AS count FROM documents`);
    expect(count).toBe(4);
  });

  it('honours the limit', async () => {
    expect(await knowledge.search(acme, 'refund', 1)).toHaveLength(1);
  });

  it('kb_search answers with compact text for the calling tenant only', async () => {
    const text = await kbSearch.execute({ query: 'refund' }, { tenantId: acme, callId: 'call_1' });
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^1\. Refund policy: .*\*\*refund\*\*/i);
    expect(text).not.toContain('Globex');
    expect(
      await kbSearch.execute({ query: 'secret tenant' }, { tenantId: acme, callId: 'call_2' }),
    ).toBe('No documents matched.');
  });

  it('lists the tenant documents newest first, bounded', async () => {
    const listed = await knowledge.list(acme, 2);
    expect(listed.map((document) => document.title)).toEqual(['Holiday calendar', 'Shipping']);
    expect(listed[0].createdAt).toBeInstanceOf(Date);
    expect((await knowledge.list(globex)).map((document) => document.tenantId)).toEqual([globex]);
  });
});
