import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1732700000000 implements MigrationInterface {
  name = 'InitialSchema1732700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        daily_token_limit bigint NOT NULL CHECK (daily_token_limit >= 0),
        monthly_token_limit bigint NOT NULL CHECK (monthly_token_limit >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        user_id text NOT NULL,
        key_hash char(64) NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id)`);
    await db.query(`
      CREATE TABLE agents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        type text NOT NULL,
        model text NOT NULL,
        instructions text NOT NULL DEFAULT '',
        tools jsonb NOT NULL DEFAULT '[]'::jsonb,
        max_steps integer NOT NULL CHECK (max_steps BETWEEN 1 AND 50),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX agents_tenant_idx ON agents (tenant_id, created_at)`);
    await db.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        user_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'success', 'error', 'max_steps', 'budget_exceeded')),
        input text NOT NULL,
        output text,
        steps integer NOT NULL DEFAULT 0,
        prompt_tokens integer NOT NULL DEFAULT 0,
        completion_tokens integer NOT NULL DEFAULT 0,
        total_tokens integer NOT NULL DEFAULT 0,
        usage_estimated boolean NOT NULL DEFAULT false,
        duration_ms integer,
        trace_id text,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await db.query(`CREATE INDEX runs_tenant_idx ON runs (tenant_id, created_at)`);
    await db.query(`
      CREATE TABLE documents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        title text NOT NULL,
        content text NOT NULL,
        search tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', content), 'B')
        ) STORED,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX documents_tenant_idx ON documents (tenant_id, created_at)`);
    await db.query(`CREATE INDEX documents_search_idx ON documents USING gin (search)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['documents', 'runs', 'agents', 'api_keys', 'tenants']) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
