import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys can be revoked (kept, for the record) and show when they were last used. */
export class ApiKeyRevocation1734100000000 implements MigrationInterface {
  name = 'ApiKeyRevocation1734100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz`);
    await db.query(`ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_keys DROP COLUMN last_used_at`);
    await db.query(`ALTER TABLE api_keys DROP COLUMN revoked_at`);
  }
}
