import { DataSource } from 'typeorm';
import { loadConfig } from '../../../src/config';
import type { AppConfig } from '../../../src/config';
import { dataSourceOptions } from '../../../src/database';
import type { InterruptedRunsReport } from '../../../src/observability/catalog';
import type { RunSweepObserver } from '../../../src/observability/observers';
import { RunSweepRepository } from '../../../src/platform/agents/run-sweep.repository';
import { RunSweeper } from '../../../src/platform/agents/run-sweeper.service';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { startTcpProxy, TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';

/** What the sweeper reported, instead of the metrics and log lines the real observer writes. */
class RecordingObserver {
  readonly interrupted: InterruptedRunsReport[] = [];
  readonly failures: unknown[] = [];

  asObserver(): RunSweepObserver {
    return {
      interrupted: (report: InterruptedRunsReport) => this.interrupted.push(report),
      sweepFailed: (error: unknown) => this.failures.push(error),
    } as unknown as RunSweepObserver;
  }
}

interface RunRow {
  id: string;
  status: string;
  error_type: string | null;
  error: string | null;
  finished_at: Date | null;
}

/** RUN_TIMEOUT_MS=60000: runs `running` for longer than 90 s (the 30 s margin added) are interrupted. */
const CONFIG: AppConfig = loadConfig({ RUN_TIMEOUT_MS: '60000' });
const STALE_AFTER_S = 90;

describe(RunSweeper.name, () => {
  let db: TestDatabase;
  let source: DataSource;
  let tenantId: string;
  let agentId: string;

  const open = async (url: string): Promise<DataSource> => {
    const opened = new DataSource(dataSourceOptions(loadConfig({ DATABASE_URL: url }), []));
    await opened.initialize();
    return opened;
  };

  /** A run row as RunsService writes it when a run starts, created `ageSeconds` ago. */
  const insertRun = async (ageSeconds: number, status = 'running'): Promise<string> => {
    const [row] = await source.query(
      `INSERT INTO runs (tenant_id, agent_id, user_id, status, input, created_at)
       VALUES ($1, $2, 'u', $3, 'x', now() - $4 * interval '1 second') RETURNING id`,
      [tenantId, agentId, status, ageSeconds],
    );
    return row.id as string;
  };

  const runsById = async (ids: readonly string[]): Promise<Map<string, RunRow>> => {
    const rows: RunRow[] = await source.query(
      `SELECT id, status, error_type, error, finished_at FROM runs WHERE id = ANY($1)`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, row]));
  };

  const sweeperOn = (dataSource: DataSource, observer: RecordingObserver, config = CONFIG) =>
    new RunSweeper(config, new RunSweepRepository(dataSource), observer.asObserver());

  beforeAll(async () => {
    db = await createTestDatabase('run_sweeper');
    source = await open(db.url);
    [{ id: tenantId }] = await source.query(
      `INSERT INTO tenants (name, daily_token_limit, monthly_token_limit) VALUES ('acme', 10, 100) RETURNING id`,
    );
    [{ id: agentId }] = await source.query(
      `INSERT INTO agents (tenant_id, name, type, model, max_steps) VALUES ($1, 'a', 't', 'm', 5) RETURNING id`,
      [tenantId],
    );
  });
  beforeEach(() => source.query(`DELETE FROM runs`));
  afterAll(async () => {
    await source?.destroy();
    await db?.drop();
  });

  it('finishes runs running past RUN_TIMEOUT_MS plus the margin as error / interrupted, and nothing else', async () => {
    const stale = [await insertRun(STALE_AFTER_S + 5), await insertRun(3600)];
    const fresh = await insertRun(STALE_AFTER_S - 5);
    const oldButFinished = await insertRun(3600, 'success');
    const observer = new RecordingObserver();

    const swept = await sweeperOn(source, observer).sweep();

    expect([...swept].sort()).toEqual([...stale].sort());
    const rows = await runsById([...stale, fresh, oldButFinished]);
    for (const id of stale) {
      expect(rows.get(id)).toMatchObject({
        status: 'error',
        error_type: 'interrupted',
        error: expect.stringContaining('interrupted'),
        finished_at: expect.any(Date),
      });
    }
    expect(rows.get(fresh)).toMatchObject({
      status: 'running',
      error_type: null,
      finished_at: null,
    });
    expect(rows.get(oldButFinished)).toMatchObject({ status: 'success', error_type: null });
    expect(observer.interrupted).toEqual([
      { runIds: expect.arrayContaining(stale), olderThanMs: STALE_AFTER_S * 1000 },
    ]);
    // Swept once: the next sweep finds nothing and reports nothing.
    expect(await sweeperOn(source, observer).sweep()).toEqual([]);
    expect(observer.interrupted).toHaveLength(1);
  });

  it('sweeps each row exactly once when two replicas sweep at the same moment', async () => {
    const other = await open(db.url);
    try {
      for (let round = 0; round < 5; round++) {
        const stale = await Promise.all(
          Array.from({ length: 40 }, () => insertRun(STALE_AFTER_S + 10)),
        );
        const [first, second] = await Promise.all([
          sweeperOn(source, new RecordingObserver()).sweep(),
          sweeperOn(other, new RecordingObserver()).sweep(),
        ]);
        expect(first.filter((id) => second.includes(id))).toEqual([]);
        expect([...first, ...second].sort()).toEqual([...stale].sort());
      }
    } finally {
      await other.destroy();
    }
  });

  it('survives the database going away: reports the failure, resolves, and sweeps once it is back', async () => {
    const proxy: TcpProxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const throughProxy = await open(url.toString());
    try {
      const observer = new RecordingObserver();
      const sweeper = sweeperOn(throughProxy, observer);
      const stale = await insertRun(STALE_AFTER_S + 5);

      await proxy.setMode('refuse');
      await expect(sweeper.sweep()).resolves.toEqual([]);
      expect(observer.failures).toHaveLength(1);
      expect((await runsById([stale])).get(stale)?.status).toBe('running');

      await proxy.setMode('forward');
      await expect(sweeper.sweep()).resolves.toEqual([stale]);
    } finally {
      await throughProxy.destroy();
      await proxy.close();
    }
  });

  it('sweeps at start and then every interval on an unref’d timer, and stops on shutdown', async () => {
    // RUN_TIMEOUT_MS=1000: a margin of 1 s, a sweep every second, rows stale after 2 s.
    const config = loadConfig({ RUN_TIMEOUT_MS: '1000' });
    const observer = new RecordingObserver();
    const sweeper = sweeperOn(source, observer, config);
    const atStart = await insertRun(3);

    sweeper.onApplicationBootstrap();
    try {
      // At once, not after a first interval.
      await waitFor(async () => (await runsById([atStart])).get(atStart)?.status === 'error', {
        timeoutMs: 500,
      });
      const timer = (sweeper as unknown as { timer: NodeJS.Timeout }).timer;
      expect(timer.hasRef()).toBe(false);

      const later = await insertRun(3);
      await waitFor(async () => (await runsById([later])).get(later)?.status === 'error', {
        timeoutMs: 2500,
      });
    } finally {
      await sweeper.onModuleDestroy();
    }
    const afterShutdown = await insertRun(3);
    await new Promise((resolve) => setTimeout(resolve, 2 * config.runs.sweepIntervalMs));
    expect((await runsById([afterShutdown])).get(afterShutdown)?.status).toBe('running');
  });
});
