import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why a run ended badly, as a short class (`run_timeout`, `interrupted`,
 * `client_closed`, `http_502`, ...), and the index the sweeper of runs left
 * `running` reads: partial, so it holds only the few rows in flight.
 */
export class RunErrorType1734200000000 implements MigrationInterface {
  name = 'RunErrorType1734200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE runs ADD COLUMN error_type text`);
    await db.query(`CREATE INDEX runs_running_idx ON runs (created_at) WHERE status = 'running'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS runs_running_idx`);
    await db.query(`ALTER TABLE runs DROP COLUMN error_type`);
  }
}
