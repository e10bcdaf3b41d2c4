import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An agent caps each model call's answer; the default lets existing agents
 * keep long answers while every call now carries a bound.
 */
export class AgentMaxOutputTokens1734000000000 implements MigrationInterface {
  name = 'AgentMaxOutputTokens1734000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE agents ADD COLUMN max_output_tokens integer NOT NULL DEFAULT 4096
        CHECK (max_output_tokens BETWEEN 16 AND 200000)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE agents DROP COLUMN max_output_tokens`);
  }
}
