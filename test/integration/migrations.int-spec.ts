import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config';
import { dataSourceOptions } from '../../src/database';
import { MIGRATIONS } from '../../src/database/migrations';
import { createTestDatabase, TestDatabase } from '../helpers/database';

const EXPECTED_TABLES = ['agents', 'api_keys', 'documents', 'runs', 'tenants'];

async function migratedTables(source: DataSource): Promise<string[]> {
  const rows: { table_name: string }[] = await source.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY table_name`,
  );
  return rows.map((row) => row.table_name);
}

async function exerciseSchema(source: DataSource): Promise<void> {
  const [tenant] = await source.query(
    `INSERT INTO tenants (name, daily_token_limit, monthly_token_limit) VALUES ('acme', 10, 100) RETURNING id`,
  );
  await source.query(
    `INSERT INTO documents (tenant_id, title, content) VALUES ($1, 'Refunds', 'Refunds take five business days')`,
    [tenant.id],
  );
  const hits = await source.query(
    `SELECT title FROM documents WHERE tenant_id = $1 AND search @@ websearch_to_tsquery('english', $2)`,
    [tenant.id, 'refund days'],
  );
  expect(hits).toEqual([{ title: 'Refunds' }]);
  await expect(
    source.query(
      `INSERT INTO tenants (name, daily_token_limit, monthly_token_limit) VALUES ('bad', -1, 1)`,
    ),
  ).rejects.toThrow(/check constraint/);
  // A key can be revoked and carries when it was last used; both start empty.
  const [key] = await source.query(
    `INSERT INTO api_keys (tenant_id, user_id, key_hash, key_prefix) VALUES ($1, 'u', repeat('a', 64), 'eap_') RETURNING revoked_at, last_used_at`,
    [tenant.id],
  );
  expect(key).toEqual({ revoked_at: null, last_used_at: null });
  await source.query(`UPDATE api_keys SET revoked_at = now(), last_used_at = now()`);
  // Every run status is storable, and only those.
  const [agent] = await source.query(
    `INSERT INTO agents (tenant_id, name, type, model, max_steps) VALUES ($1, 'a', 't', 'm', 5) RETURNING id`,
    [tenant.id],
  );
  for (const status of [
    'running',
    'success',
    'error',
    'max_steps',
    'budget_exceeded',
    'cancelled',
  ]) {
    await source.query(
      `INSERT INTO runs (tenant_id, agent_id, user_id, status, input) VALUES ($1, $2, 'u', $3, 'x')`,
      [tenant.id, agent.id, status],
    );
  }
  // Why a run ended badly is stored beside its status; the sweeper's index holds only running rows.
  const [timedOut] = await source.query(
    `INSERT INTO runs (tenant_id, agent_id, user_id, status, input, error_type) VALUES ($1, $2, 'u', 'error', 'x', 'run_timeout') RETURNING error_type`,
    [tenant.id, agent.id],
  );
  expect(timedOut.error_type).toBe('run_timeout');
  const [index] = await source.query(
    `SELECT indexdef FROM pg_indexes WHERE indexname = 'runs_running_idx'`,
  );
  expect(index.indexdef).toMatch(/\(created_at\) WHERE \(status = 'running'::text\)$/);
  await expect(
    source.query(
      `INSERT INTO runs (tenant_id, agent_id, user_id, status, input) VALUES ($1, $2, 'u', 'paused', 'x')`,
      [tenant.id, agent.id],
    ),
  ).rejects.toThrow(/check constraint/);
}

describe('database migrations', () => {
  describe('on the real PostgreSQL', () => {
    let db: TestDatabase;
    let source: DataSource;
    beforeAll(async () => {
      db = await createTestDatabase('migrations');
      source = new DataSource(dataSourceOptions(loadConfig({ DATABASE_URL: db.url }), []));
      await source.initialize();
    });
    afterAll(async () => {
      await source?.destroy();
      await db?.drop();
    });

    it('creates every table, with full-text search and constraints', async () => {
      expect(await migratedTables(source)).toEqual(EXPECTED_TABLES);
      await exerciseSchema(source);
    });

    it('is idempotent: running again applies nothing', async () => {
      expect(await source.runMigrations()).toEqual([]);
    });

    it('reverts cleanly', async () => {
      for (let i = 0; i < MIGRATIONS.length; i++) await source.undoLastMigration();
      expect(await migratedTables(source)).toEqual([]);
      await source.runMigrations();
      expect(await migratedTables(source)).toEqual(EXPECTED_TABLES);
    });
  });

  describe('on the embedded database (PGlite)', () => {
    let dataDir: string;
    let source: DataSource;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'eap-pglite-'));
      source = new DataSource(dataSourceOptions(loadConfig({ DATA_DIR: dataDir }), []));
      await source.initialize();
    });
    afterAll(async () => {
      await source?.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('runs the same migrations, with full-text search and constraints', async () => {
      expect(await migratedTables(source)).toEqual(EXPECTED_TABLES);
      await exerciseSchema(source);
    });

    it('keeps its data across a restart', async () => {
      await source.destroy();
      source = new DataSource(dataSourceOptions(loadConfig({ DATA_DIR: dataDir }), []));
      await source.initialize();
      const rows = await source.query(`SELECT name FROM tenants`);
      expect(rows).toEqual([{ name: 'acme' }]);
    });
  });
});
