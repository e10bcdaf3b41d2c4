import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A run whose client left is stopped and stored as `cancelled`. */
export class RunCancelled1733900000000 implements MigrationInterface {
  name = 'RunCancelled1733900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE runs DROP CONSTRAINT runs_status_check`);
    await db.query(`
      ALTER TABLE runs ADD CONSTRAINT runs_status_check
        CHECK (status IN ('running', 'success', 'error', 'max_steps', 'budget_exceeded', 'cancelled'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`UPDATE runs SET status = 'error' WHERE status = 'cancelled'`);
    await db.query(`ALTER TABLE runs DROP CONSTRAINT runs_status_check`);
    await db.query(`
      ALTER TABLE runs ADD CONSTRAINT runs_status_check
        CHECK (status IN ('running', 'success', 'error', 'max_steps', 'budget_exceeded'))`);
  }
}
