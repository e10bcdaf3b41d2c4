import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RUN_ERROR_TYPES } from './run-errors';

/** What the record of a swept run says. */
const INTERRUPTED_MESSAGE =
  'The run was interrupted (its process stopped or lost the database) and did not finish';

/**
 * The one query across tenants the platform makes on runs: finishing the
 * rows left `running` by a process that died (a crash, SIGKILL) or lost the
 * database before it could write the end. It reads no tenant's data and
 * returns only ids, so it goes straight to the connection instead of the
 * tenant-scoped repositories.
 */
@Injectable()
export class RunSweepRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Finishes every run `running` for longer than olderThanMs as `error` /
   * `interrupted`, and returns their ids. One conditional UPDATE: when two
   * replicas sweep at once, PostgreSQL re-checks `status = 'running'` on the
   * row the other one just changed, so each row is finished exactly once. The
   * age is read on the database's clock, the one `created_at` was written on.
   */
  async finishInterrupted(olderThanMs: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `WITH swept AS (
         UPDATE runs
            SET status = 'error', error_type = $1, error = $2, finished_at = now()
          WHERE status = 'running' AND created_at < now() - $3 * interval '1 millisecond'
          RETURNING id
       )
       SELECT id FROM swept`,
      [RUN_ERROR_TYPES.interrupted, INTERRUPTED_MESSAGE, olderThanMs],
    );
    return rows.map((row) => row.id);
  }
}
